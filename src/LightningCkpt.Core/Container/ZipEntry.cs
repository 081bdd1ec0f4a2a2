namespace LightningCkpt.Container
{
    /// <summary>One entry of a zip central directory, with the absolute offset of its data.</summary>
    public sealed class ZipEntry
    {
        internal ZipEntry(string name, ushort method, long compressedSize, long uncompressedSize, uint crc32, long localHeaderOffset, ushort flags)
        {
            Name = name;
            Method = method;
            CompressedSize = compressedSize;
            UncompressedSize = uncompressedSize;
            Crc32 = crc32;
            LocalHeaderOffset = localHeaderOffset;
            Flags = flags;
        }

        /// <summary>The entry name with '\' turned into '/'.</summary>
        public string Name { get; }

        /// <summary>0 = stored, 8 = deflated.</summary>
        public ushort Method { get; }

        public long CompressedSize { get; }
        public long UncompressedSize { get; }
        public uint Crc32 { get; }
        public long LocalHeaderOffset { get; }
        public ushort Flags { get; }

        /// <summary>
        /// Absolute offset of the first data byte (after the local header, name and extra field). The local header is
        /// read on first use, not at open: metadata never needs it (see <see cref="ZipDirectory.Locate"/>).
        /// </summary>
        public long DataOffset
        {
            get
            {
                long located = System.Threading.Volatile.Read(ref _dataOffset);
                return located >= 0 || Directory == null ? located : Directory.Locate(this);
            }
        }

        private long _dataOffset = -1;

        /// <summary>True once the local header has been read and checked.</summary>
        internal bool IsLocated => System.Threading.Volatile.Read(ref _dataOffset) >= 0;

        internal void SetDataOffset(long offset) => System.Threading.Volatile.Write(ref _dataOffset, offset);

        /// <summary>The directory that reads this entry's local header on demand.</summary>
        internal ZipDirectory? Directory { get; set; }

        public bool IsStored => Method == 0;
        public bool IsDeflated => Method == 8;

        public override string ToString() => $"{Name} ({(IsStored ? "stored" : IsDeflated ? "deflated" : "method " + Method)}, {UncompressedSize} bytes, local header at {LocalHeaderOffset})";
    }
}
