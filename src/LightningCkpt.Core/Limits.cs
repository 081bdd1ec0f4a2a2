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

        /// <summary>
        /// A stored data.pkl larger than this is run from the file through a 64 KiB buffer instead of being read into
        /// memory whole (torch's own pickles are a few KB per hundred tensors, so they are always read whole).
        /// </summary>
        public const long StreamedPickleBytes = 8L << 20;

        /// <summary>
        /// Largest index JSON we parse, and the safetensors format's own MAX_HEADER_SIZE: the most
        /// <see cref="MaxSafetensorsHeaderBytes"/> may be raised to.
        /// </summary>
        public const long MaxJsonHeaderBytes = 100_000_000;

        /// <summary>The default of <see cref="MaxSafetensorsHeaderBytes"/>: 16 MiB.</summary>
        public const long DefaultSafetensorsHeaderBytes = 16L << 20;

        private static long _maxSafetensorsHeaderBytes = DefaultSafetensorsHeaderBytes;

        /// <summary>
        /// Largest safetensors header read, for every file opened after it is set (process-wide). Real headers
        /// hold ~100 bytes per tensor (a few hundred KB for the largest models; LoRA training metadata a few MB), so
        /// the default of 16 MiB leaves them a wide margin; a header costs about its own size plus ~150 bytes per
        /// tensor entry while it is read. Raise it up to the format's <see cref="MaxJsonHeaderBytes"/> for a file
        /// that needs more: <c>[LightningCkpt.Limits]::MaxSafetensorsHeaderBytes = 100000000</c> in PowerShell.
        /// </summary>
        public static long MaxSafetensorsHeaderBytes
        {
            get => System.Threading.Interlocked.Read(ref _maxSafetensorsHeaderBytes);
            set
            {
                if (value < 2 || value > MaxJsonHeaderBytes)
                    throw new System.ArgumentOutOfRangeException(nameof(value), value, $"a safetensors header limit lies between 2 bytes and the format's {MaxJsonHeaderBytes}");
                System.Threading.Interlocked.Exchange(ref _maxSafetensorsHeaderBytes, value);
            }
        }

        /// <summary>Deepest JSON nesting we follow in a safetensors header or a sharded-checkpoint index.</summary>
        public const int MaxJsonDepth = 64;

        /// <summary>Most data files (shards, ranks, .distcp files) one sharded checkpoint may name.</summary>
        public const int MaxShardFiles = 100_000;

        /// <summary>
        /// Most values on the pickle stack at once. torch's pickler batches APPENDS/SETITEMS by 1000, so real stacks
        /// stay shallow; 1M references cost 8 MB.
        /// </summary>
        public const int MaxStackDepth = 1_000_000;

        /// <summary>Most MARKs open at once: nesting depth of a pickle.</summary>
        public const int MaxMarkDepth = 10_000;

        /// <summary>Most memo entries in any pickle (a memo entry costs about 30–60 bytes).</summary>
        public const int MaxMemoEntries = 1_000_000;

        /// <summary>Most containers (lists, dicts, tuples, objects) in any pickle (a container costs about 50–100 bytes).</summary>
        public const int MaxContainers = 1_000_000;

        /// <summary>Pickle bytes per extra memo entry or container above the fixed floor (real pickles spend 20+ bytes on each).</summary>
        public const int BytesPerObject = 16;

        /// <summary>
        /// Estimated bytes of memory a pickle may build per byte it occupies in the file (its compressed size when the
        /// entry is deflated). The 43 real-world zip checkpoints build 6–12 estimated bytes per stored pickle byte
        /// (LimitsTests.RealworldPicklesStayFarInsideTheirMemoryBudget prints them), and real pickles deflate at most
        /// 3.7:1, so 64 leaves them a margin while a 1 MB deflated entry can never build more than 64 MiB.
        /// </summary>
        public const long PickleCostPerFileByte = 64;

        /// <summary>The object-memory allowance of any pickle, however small (a 20 KB data.pkl may build 64 MiB).</summary>
        public const long MinPickleCost = 64L << 20;

        /// <summary>
        /// The object-memory allowance of any pickle, however large: objects per pickle byte are capped by
        /// <see cref="PickleCostPerFileByte"/>, and objects per pickle by this. The real-world corpus builds at most a
        /// few MiB (LimitsTests.RealworldPicklesStayFarInsideTheirMemoryBudget prints them); torch's own pickles hold
        /// ~1 KB of objects per tensor, so this admits ~100k tensors with optimizer states. A 96 MB pickle of small
        /// lists (4 ints each, ~100 estimated bytes per 16 file bytes) stops here with LimitExceeded instead of
        /// building ~1.7 GB (tools/limits/measure_pickle_costs.py measures it). It counts objects: the characters of
        /// strings and the bytes of byte strings are bounded by the file bytes they come from and count only toward
        /// <see cref="MaxPickleCostFor"/> (a pickled numpy array of 500 MB still loads), and the pickle bytes
        /// themselves are read whole, up to <see cref="MaxPickleBytes"/>.
        /// </summary>
        public const long MaxPickleCost = 96L << 20;

        /// <summary>
        /// Ceiling of the object allowance of a torch.distributed.checkpoint <c>.metadata</c> pickle. A DCP folder's
        /// metadata grows with ranks × tensors (an FSDP run on 256 ranks lists each parameter and moment 256 times:
        /// ~0.5 M chunks, an 80 MB pickle building ~1.4 GiB of estimated objects), so it may build as many estimated
        /// bytes as its <c>.distcp</c> data files hold (<see cref="MaxDcpMetadataCostFor"/>), up to this.
        /// </summary>
        public const long MaxDcpMetadataCost = 4L << 30;

        /// <summary>
        /// The object allowance of a DCP <c>.metadata</c> describing <paramref name="dataFileBytes"/> bytes of
        /// <c>.distcp</c> files: at least <see cref="MaxPickleCost"/>, at most <see cref="MaxDcpMetadataCost"/>,
        /// otherwise <see cref="DcpMetadataCostPerDataByte"/> estimated bytes per data byte (its object count and memo
        /// entries scale with it). A chunk entry builds ~2 KB of estimated objects and its torch.save archive holds at
        /// least ~1 KB, so genuine metadata fits; a hostile metadata pickle beside small data files still stops at
        /// <see cref="MaxPickleCost"/>.
        /// </summary>
        public static long MaxDcpMetadataCostFor(long dataFileBytes) =>
            System.Math.Max(MaxPickleCost, System.Math.Min(MaxDcpMetadataCost, System.Math.Min(MaxDcpMetadataCost, dataFileBytes) * DcpMetadataCostPerDataByte));

        /// <summary>Estimated object bytes a DCP <c>.metadata</c> may build per byte of its <c>.distcp</c> files.</summary>
        public const long DcpMetadataCostPerDataByte = 4;

        /// <summary>Estimated bytes charged for each container (list, dict, tuple, set, object) a pickle builds.</summary>
        public const long CostPerContainer = 64;

        /// <summary>Estimated bytes charged for each list, tuple or argument slot.</summary>
        public const long CostPerItem = 8;

        /// <summary>Estimated bytes charged for each dict or set entry (entry list plus index).</summary>
        public const long CostPerDictEntry = 40;

        /// <summary>
        /// The estimated memory allowed for a pickle that occupies <paramref name="fileBytes"/> bytes of the file:
        /// <see cref="PickleCostPerFileByte"/> per byte, at least <see cref="MinPickleCost"/>; its objects alone are also
        /// capped by <see cref="MaxPickleCost"/>. Scalars are charged their boxed size (strings 2 bytes a character;
        /// integers -1…4095 nothing, they share boxes); byte strings their length.
        /// </summary>
        public static long MaxPickleCostFor(long fileBytes) => System.Math.Max(MinPickleCost, System.Math.Min(MaxPickleBytes, fileBytes) * PickleCostPerFileByte);

        /// <summary>
        /// Largest ratio of a deflated pickle's inflated size to its compressed size. Real data.pkl files compress
        /// 2.6–3.7:1 (measured on the real-world corpus); deflate itself allows about 1032:1, which let a 1 MB entry
        /// run a 1 GB pickle. Pickles up to <see cref="PickleInflationFloor"/> are always allowed.
        /// </summary>
        public const long MaxPickleInflation = 64;

        /// <summary>Inflated size a deflated pickle may always reach, whatever its compressed size.</summary>
        public const long PickleInflationFloor = 1L << 20;

        /// <summary>Ceiling for the scaled object limits, whatever the pickle size.</summary>
        public const int MaxObjectsCeiling = 64_000_000;

        /// <summary>
        /// Containers allowed for a pickle occupying <paramref name="pickleBytes"/> bytes of the file (compressed size
        /// for a deflated entry): the fixed floor, or one per <see cref="BytesPerObject"/> bytes for big pickles — so a
        /// hostile 10 MB pickle stays near 100 MB of memory while a genuine 1 GB pickle still loads. The memory of
        /// everything built is capped separately by <see cref="MaxPickleCostFor"/>.
        /// </summary>
        public static int MaxContainersFor(long pickleBytes) => (int)System.Math.Min(MaxObjectsCeiling, System.Math.Max(MaxContainers, pickleBytes / BytesPerObject));

        /// <summary>Memo entries allowed for a pickle of <paramref name="pickleBytes"/> (same scaling as containers).</summary>
        public static int MaxMemoEntriesFor(long pickleBytes) => (int)System.Math.Min(MaxObjectsCeiling, System.Math.Max(MaxMemoEntries, pickleBytes / BytesPerObject));

        /// <summary>Largest arbitrary-precision integer (LONG1/LONG4) in bytes.</summary>
        public const int MaxLongBytes = 1 << 16;

        /// <summary>
        /// Most digits in a protocol-0 integer literal (INT/LONG text). Python refuses more than 4300 by default
        /// (sys.int_max_str_digits), and parsing is quadratic in the digits.
        /// </summary>
        public const int MaxIntDigits = 4300;

        /// <summary>Deepest object nesting a walker will follow.</summary>
        public const int MaxWalkDepth = 1_000;

        /// <summary>
        /// Values a tensor walk may visit while repeating, at a later path, a shared container that holds tensors (a
        /// pickle reaches one container from many places through its memo). Each container is walked once for its
        /// own content, so the walk is linear in the distinct objects; later paths to a tensor-free container cost
        /// nothing, and a later path to one with tensors repeats its tensor paths, whole or not at all, while the
        /// repeated work stays within this backstop (an aliased state_dict of up to ~20k tensors is listed under both
        /// names; a "billion laughs" graph, each list holding the previous one twice around a tensor, stops here
        /// within milliseconds).
        /// </summary>
        public const int MaxRepeatedWalkSteps = 20_000;

        /// <summary>Most containers rendered into one hyper-parameter view (the rest shows as "...").</summary>
        public const int MaxRenderNodes = 100_000;

        /// <summary>
        /// Longest text of one hyper-parameter value (its shell rendering, a Compare-Ckpt metadata row), in characters;
        /// longer text ends in "…". Equality of metadata values compares structure, never this text.
        /// </summary>
        public const int MaxValueTextLength = 65_536;

        /// <summary>Longest dotted path a walker builds; longer keys and deeper paths are cut with "…".</summary>
        public const int MaxPathLength = 1024;

        /// <summary>Most dimensions a tensor may have (torch allows 64).</summary>
        public const int MaxTensorDims = 64;

        /// <summary>
        /// Largest DCP item read through a stream transform (zstd), before and after decoding: the decoded archive is
        /// held in memory, as there is no plain copy of its bytes in any file to read positionally.
        /// </summary>
        public const long MaxDecodedTransformBytes = 1L << 30;

        /// <summary>Largest expansion ratio a deflated entry may claim over its compressed size.</summary>
        public const long MaxDeflateRatio = 1032;
    
        /// <summary>
        /// Largest logical size (bytes) of an expanded or overlapping view (stride 0, broadcast, as_strided) that
        /// hashing, ToArray and writers producing contiguous bytes will materialise. Statistics and comparisons do
        /// not need it: they work on the distinct elements and scale by the repeat count. The torch-zip writer
        /// keeps such views expanded (it copies the storage and the strides), so it is not bound by this.
        /// </summary>
        public const long MaxExpandedBytes = 256L << 20;

        /// <summary>
        /// Most elements walked in a view whose strides overlap without being zero (after dropping stride-0
        /// dimensions): 2^28 elements take about a second.
        /// </summary>
        public const long MaxOverlappingElements = 1L << 28;

        /// <summary>
        /// Largest storage window a non-contiguous view is gathered from in one read. A view whose whole span fits is
        /// read once; for a wider one (a [N, 4] float32 stored transposed, N ≥ 4M) each range reads only the pieces it
        /// needs, in storage order, neighbours within 16 KiB read together in windows of at most this many bytes, so
        /// every needed storage byte is read about once (Data/BlockGather).
        /// </summary>
        public const int MaxGatherWindowBytes = 64 << 20;

        /// <summary>Bytes read per chunk on the data paths (three chunks are in flight while reading ahead).</summary>
        public const int ReadChunkBytes = 4 << 20;

        /// <summary>
        /// Bytes per read when every core runs its own pass (statistics, hashes, comparisons on all cores): small
        /// enough that the piece is still in the core's own cache when it is reduced, large enough that the system
        /// call and the identity check per read cost little.
        /// </summary>
        public const int CachedPieceBytes = 256 << 10;
    }
}
