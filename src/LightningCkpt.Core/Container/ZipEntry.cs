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

        /// <summary>Absolute offset of the first data byte (after the local header, name and extra field).</summary>
        public long DataOffset { get; internal set; } = -1;

        public bool IsStored => Method == 0;
        public bool IsDeflated => Method == 8;

        public override string ToString() => $"{Name} ({(IsStored ? "stored" : IsDeflated ? "deflated" : "method " + Method)}, {UncompressedSize} bytes at {DataOffset})";
    }
}
