using System;

namespace LightningCkpt.Safety
{
    public sealed class ValidateOptions
    {
        /// <summary>Read every byte and check zip CRC-32s.</summary>
        public bool VerifyCrc { get; set; }

        /// <summary>Scan floating weights for NaN/Inf.</summary>
        public bool CheckValues { get; set; }
    }

    /// <summary>Tests a checkpoint for damage and danger without running anything.</summary>
    public static class CheckpointValidator
    {
        public static CkptTestResult Test(string path, ValidateOptions options) =>
            throw new NotImplementedException("Test-Ckpt is specified by issue 6");
    }
}
