using LightningCkpt.Container;

namespace LightningCkpt.Torch
{
    /// <summary>
    /// One torch storage: a run of bytes in the file named by a key in the pickle's persistent ids. Tensors that
    /// share a storage (views) hold the same StorageRef. Bytes are located, never read, until asked for.
    /// </summary>
    public sealed class StorageRef
    {
        internal StorageRef(string key, DType dtype, long declaredBytes, string location, int index)
        {
            Key = key;
            DType = dtype;
            DeclaredBytes = declaredBytes;
            Location = location;
            Index = index;
        }

        /// <summary>The storage key from the pickle ("0", "1", … or an old memory address).</summary>
        public string Key { get; }

        /// <summary>The dtype the storage was saved with (uint8 for an UntypedStorage).</summary>
        public DType DType { get; }

        /// <summary>numel × element size from the persistent id.</summary>
        public long DeclaredBytes { get; }

        /// <summary>The device tag: cpu, cuda:0, mps …</summary>
        public string Location { get; }

        /// <summary>First-seen order among the file's storages.</summary>
        public int Index { get; }

        /// <summary>The file holding the bytes, with the identity it had when the checkpoint was opened.</summary>
        public SourceFile? File { get; internal set; }

        /// <summary>The zip entry holding the bytes (zip format).</summary>
        public ZipEntry? Entry { get; internal set; }

        /// <summary>
        /// Absolute file offset of the first byte when the bytes lie uncompressed in the file; -1 otherwise. For a
        /// stored zip entry the first read of this reads the entry's local header (which can throw
        /// <see cref="CheckpointFormatException"/> when it is damaged).
        /// </summary>
        public long FileOffset
        {
            get => _fileOffset >= 0 || Entry == null || !Entry.IsStored ? _fileOffset : Entry.DataOffset;
            internal set => _fileOffset = value;
        }

        private long _fileOffset = -1;

        /// <summary>Bytes really present for this storage in the file.</summary>
        public long AvailableBytes { get; internal set; }

        /// <summary>Bytes carried inside the pickle itself (tensors rebuilt from numpy arrays).</summary>
        public byte[]? InlineData { get; internal set; }

        /// <summary>True when the bytes are big-endian (a 'byteorder' record of "big", or a big-endian legacy file).</summary>
        public bool IsBigEndian { get; internal set; }

        /// <summary>For a legacy storage view: the storage it slices.</summary>
        public StorageRef? ViewRoot { get; internal set; }

        /// <summary>For a legacy storage view: where the slice starts in the root, in bytes.</summary>
        public long ViewByteOffset { get; internal set; }

        /// <summary>True once the container has located the bytes.</summary>
        public bool IsLocated => Entry != null || InlineData != null || FileOffset >= 0;

        public override string ToString() => $"storage '{Key}' ({DType.Name}, {DeclaredBytes} bytes)";
    }
}
