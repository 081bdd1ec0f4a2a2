namespace LightningCkpt
{
    /// <summary>
    /// Every resource bound in one place. A checkpoint is untrusted input: sizes claimed by the file are checked
    /// against the file before anything is allocated, and the object graph a pickle can build is capped.
    /// </summary>
    public static class Limits
    {
        /// <summary>Most zip entries we accept in one archive.</summary>
        public const int MaxZipEntries = 1_000_000;

        /// <summary>Largest pickle we read into memory (data.pkl or one legacy pickle).</summary>
        public const long MaxPickleBytes = 1L << 30;

        /// <summary>Most values on the pickle stack at once (the stack plus mark stack).</summary>
        public const int MaxStackDepth = 4_000_000;

        /// <summary>Most MARKs open at once: nesting depth of a pickle.</summary>
        public const int MaxMarkDepth = 10_000;

        /// <summary>Most memo entries.</summary>
        public const int MaxMemoEntries = 4_000_000;

        /// <summary>Most containers (lists, dicts, tuples, objects) one pickle may create.</summary>
        public const int MaxContainers = 4_000_000;

        /// <summary>Largest arbitrary-precision integer (LONG1/LONG4) in bytes.</summary>
        public const int MaxLongBytes = 1 << 16;

        /// <summary>Deepest object nesting a walker will follow.</summary>
        public const int MaxWalkDepth = 1_000;

        /// <summary>Most dimensions a tensor may have (torch allows 64).</summary>
        public const int MaxTensorDims = 64;

        /// <summary>Largest expansion ratio a deflated entry may claim over its compressed size.</summary>
        public const long MaxDeflateRatio = 1032;
    }
}
