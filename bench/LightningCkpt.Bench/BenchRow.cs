namespace LightningCkpt.Bench
{
    public sealed record BenchRow(string Task, double OursSeconds, double? TorchSeconds, double? Bytes, string Note);
}
