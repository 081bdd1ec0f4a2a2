namespace LightningCkpt.Bench
{
    /// <summary>One row of the benchmark table: our time, torch's time (if measured), the bytes the task touched.</summary>
    public sealed record BenchRow(string Task, double OursSeconds, double? TorchSeconds, double? Bytes, string Note);
}
