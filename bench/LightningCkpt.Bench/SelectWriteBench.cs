using System.Collections.Generic;

namespace LightningCkpt.Bench
{
    /// <summary>Placeholder for the select-and-write benchmark row (replaced by the writer's issue).</summary>
    public static class SelectWriteBench
    {
        public static List<BenchRow> Run(string checkpointPath, string workDir) => new List<BenchRow>();
    }
}
