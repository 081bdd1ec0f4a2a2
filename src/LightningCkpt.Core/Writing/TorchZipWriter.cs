using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using LightningCkpt.Data;
using LightningCkpt.Torch;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// Writes the zip layout <c>torch.save</c> produces (the miniz writer inside PyTorchStreamWriter): one root folder,
    /// entries <c>data.pkl</c>, <c>.format_version</c>, <c>.storage_alignment</c>, <c>byteorder</c>, <c>data/0..N</c>,
    /// <c>version</c>, <c>.data/serialization_id</c>; all STORED with bit 3 (data descriptor) and bit 11 (UTF-8) set,
    /// zero dates and versions like miniz; local headers padded with an 'FB' extra field so each payload starts on a
    /// 64-byte boundary; a 16-byte data descriptor after each payload (24 with zip64); ZIP64 extra fields where sizes
    /// or offsets pass 0xFFFFFFFF; and always a zip64 end record and locator, as miniz writes them.
    /// The serialization id is 20 decimal digits of a 64-bit FNV-1a hash over the record names followed by 20 digits of
    /// a 64-bit fold (h = h·31 + crc) of the records' CRC-32s: deterministic, so equal inputs give equal files.
    /// </summary>
    internal static class TorchZipWriter
    {
        public const int Alignment = 64;

        /// <summary>Assigns storages to the tensors (sharing source storages), pickles the root and writes the zip.</summary>
        public static void Write(Stream output, object? root, IReadOnlyList<OutTensor> tensors, string archiveName, ReaderPool readers)
        {
            var storages = PlanStorages(tensors);
            WriteArchive(output, archiveName, PickleWriter.Dump(root), storages, readers);
        }

        /// <summary>Writes a finished pickle and its storage records (data/&lt;key&gt;) as a torch zip.</summary>
        internal static void WriteArchive(Stream output, string archiveName, byte[] pickle, IReadOnlyList<ZipStorage> storages, ReaderPool readers)
        {
            {
                var zip = new ZipOut(output, archiveName);
                zip.AddBytes("data.pkl", pickle);
                zip.AddBytes(".format_version", Encoding.ASCII.GetBytes("1"));
                zip.AddBytes(".storage_alignment", Encoding.ASCII.GetBytes(Alignment.ToString()));
                zip.AddBytes("byteorder", Encoding.ASCII.GetBytes("little"));
                foreach (var st in storages)
                {
                    zip.Add("data/" + st.Key, st.Bytes, sink => WriteStorage(st, readers, sink), KnownCrc(st));
                }
                zip.AddBytes("version", Encoding.ASCII.GetBytes("3\n"));
                zip.AddBytes(".data/serialization_id", Encoding.ASCII.GetBytes(zip.SerializationId()));
                zip.Finish();
            }
        }

        /// <summary>Distinct source storages once each (first-seen order, keys 0..N); fresh storages per produced tensor.</summary>
        internal static List<ZipStorage> PlanStorages(IReadOnlyList<OutTensor> tensors)
        {
            var list = new List<ZipStorage>();
            var bySource = new Dictionary<(Checkpoint, StorageRef), (ZipStorage st, List<OutTensor> members)>();
            foreach (var t in tensors)
            {
                if (t.Storage != null) continue; // the same OutTensor twice
                if (t.SameAs != null) continue;  // a tied name: pickled as the tensor it is tied to
                if (t.Producer != null)
                {
                    var fresh = new ZipStorage { Fresh = t, Bytes = t.NBytes, TypedAs = t.DType.StorageName != null ? t.DType : null };
                    list.Add(fresh);
                    t.Storage = fresh;
                    t.StorageOffset = 0;
                    t.Stride = OutTensor.ContiguousStride(t.Shape);
                    continue;
                }
                var src = t.SourceTensor!;
                var s = src.Storage ?? throw new InvalidOperationException($"tensor '{t.Name}' has no data in the file");
                var rootStorage = s.ViewRoot ?? s;
                var key = (t.Source!, rootStorage);
                if (!bySource.TryGetValue(key, out var group))
                {
                    group = (new ZipStorage { Source = t.Source, SourceStorage = rootStorage, Bytes = rootStorage.DeclaredBytes }, new List<OutTensor>());
                    bySource[key] = group;
                    list.Add(group.st);
                }
                group.members.Add(t);
                t.Storage = group.st;
            }
            foreach (var (st, members) in bySource.Values)
            {
                var d = members[0].DType;
                bool typed = d.StorageName != null && st.Bytes % d.ItemSize == 0;
                foreach (var m in members)
                {
                    var s = m.SourceTensor!.Storage!;
                    if (!ReferenceEquals(m.DType, d) || s.ViewByteOffset % d.ItemSize != 0) typed = false;
                }
                st.TypedAs = typed ? d : null;
                st.SwapWidth = d.IsComplex ? d.ItemSize / 2 : d.ItemSize;
                foreach (var m in members)
                {
                    var src = m.SourceTensor!;
                    long viewBytes = src.Storage!.ViewByteOffset;
                    int item = m.DType.ItemSize;
                    if (viewBytes % item != 0)
                        throw new InvalidOperationException($"tensor '{m.Name}' starts {viewBytes} bytes into its storage, not on a {m.DType.Name} element boundary");
                    m.StorageOffset = src.StorageOffset + viewBytes / item;
                    m.Stride = (long[])src.Stride.Clone();
                }
            }
            for (int i = 0; i < list.Count; i++) list[i].Key = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return list;
        }

        /// <summary>
        /// The CRC-32 of a storage copied byte for byte from a whole stored zip entry is that entry's own: reusing it
        /// spares a pass over every byte (the copy is then as fast as the disk).
        /// </summary>
        private static uint? KnownCrc(ZipStorage st)
        {
            var entry = st.SourceStorage?.Entry;
            if (st.Fresh != null || st.Assembled != null || entry == null || !entry.IsStored || st.SourceStorage!.ViewRoot != null) return null;
            if (entry.UncompressedSize != st.Bytes || st.SourceStorage.FileOffset < 0) return null;
            if (st.SourceStorage.IsBigEndian && st.SwapWidth > 1) return null;
            return entry.Crc32;
        }

        private static unsafe void WriteStorage(ZipStorage st, ReaderPool readers, Action<byte[], int> sink)
        {
            if (st.Fresh != null)
            {
                st.Fresh.Producer!(sink);
                return;
            }
            if (st.Bytes == 0) return;
            var reader = readers.Get(st.Source!);
            if (st.Assembled != null)
            {
                reader.ReadRowMajor(st.Assembled, sink);
                return;
            }
            bool swap = st.SourceStorage!.IsBigEndian && st.SwapWidth > 1;
            int width = st.SwapWidth;
            var buffer = readers.CopyBuffer((int)Math.Min(TensorDataReader.ChunkSize, st.Bytes));
            reader.CopyStorage(st.SourceStorage, st.Bytes, buffer, (b, n) => Emit(b, n, swap, width, sink));
        }

        private static void Emit(byte[] buffer, int count, bool swap, int width, Action<byte[], int> sink)
        {
            if (swap) for (int i = 0; i + width <= count; i += width) Array.Reverse(buffer, i, width);
            sink(buffer, count);
        }

        /// <summary>The archive folder torch would use for a path: the file name without extension, or "archive".</summary>
        public static string ArchiveNameFor(string outFile)
        {
            string name = Path.GetFileNameWithoutExtension(outFile);
            if (name.Length == 0) return "archive";
            foreach (char c in name) if (c < 0x20 || c > 0x7e || c == '/' || c == '\\') return "archive";
            return name;
        }

        /// <summary>A forward-only zip writer with the miniz/PyTorchStreamWriter conventions.</summary>
        private sealed class ZipOut
        {
            private readonly Stream _s;
            private readonly string _prefix;
            private long _pos;
            private readonly List<(byte[] name, long offset, long size, uint crc)> _records = new List<(byte[], long, long, uint)>();

            public ZipOut(Stream s, string archiveName)
            {
                _s = s;
                _prefix = archiveName + "/";
            }

            private const int ParallelCrcBytes = 1 << 16;

            public void AddBytes(string name, byte[] data) => Add(name, data.Length, sink => sink(data, data.Length));

            public void Add(string name, long size, Action<Action<byte[], int>> body, uint? knownCrc = null)
            {
                var nameBytes = Encoding.UTF8.GetBytes(_prefix + name);
                long offset = _pos;
                bool bigSize = size >= 0xFFFFFFFFL, bigOfs = offset >= 0xFFFFFFFFL;
                int z64 = bigSize || bigOfs ? 4 + (bigSize ? 16 : 0) + (bigOfs ? 8 : 0) : 0;
                long start = offset + 30 + nameBytes.Length + z64 + 4;
                int pad = (int)((Alignment - start % Alignment) % Alignment);
                int extraLen = z64 + 4 + pad;

                var h = new byte[30 + nameBytes.Length + extraLen];
                int p = 0;
                U32(h, ref p, 0x04034b50); U16(h, ref p, 0); U16(h, ref p, 0x0808); U16(h, ref p, 0); U16(h, ref p, 0); U16(h, ref p, 0);
                U32(h, ref p, 0); U32(h, ref p, bigSize ? 0xFFFFFFFF : 0); U32(h, ref p, bigSize ? 0xFFFFFFFF : 0);
                U16(h, ref p, nameBytes.Length); U16(h, ref p, extraLen);
                Buffer.BlockCopy(nameBytes, 0, h, p, nameBytes.Length); p += nameBytes.Length;
                if (z64 > 0)
                {
                    U16(h, ref p, 1); U16(h, ref p, z64 - 4);
                    if (bigSize) { U64(h, ref p, (ulong)size); U64(h, ref p, (ulong)size); }
                    if (bigOfs) U64(h, ref p, (ulong)offset);
                }
                h[p++] = (byte)'F'; h[p++] = (byte)'B'; U16(h, ref p, pad);
                for (int i = 0; i < pad; i++) h[p++] = (byte)'Z';
                Raw(h, h.Length);
                if ((_pos % Alignment) != 0) throw new InvalidOperationException("zip payload not aligned");

                uint crc = 0;
                long written = 0;
                body((buf, n) =>
                {
                    written += n;
                    if (written > size) throw new InvalidOperationException($"record {name} produced more than its {size} bytes");
                    if (knownCrc != null)
                    {
                        Raw(buf, n);
                        return;
                    }
                    if (n < ParallelCrcBytes || Crc32.IsAccelerated)
                    {
                        // the runtime's zlib sums 4 MB in well under a millisecond: a task beside the write would cost
                        // more than it hides, and on a busy machine there is no idle core to run it on anyway
                        crc = Crc32.Update(crc, buf, 0, n);
                        Raw(buf, n);
                        return;
                    }
                    // the checksum runs on the other core while this one writes the same (read-only) buffer
                    uint previous = crc;
                    var checksum = System.Threading.Tasks.Task.Run(() => Crc32.Update(previous, buf, 0, n));
                    try { Raw(buf, n); }
                    finally { crc = checksum.GetAwaiter().GetResult(); }
                });
                if (written != size) throw new InvalidOperationException($"record {name} produced {written} bytes instead of {size}");
                if (knownCrc != null) crc = knownCrc.Value;

                bool bigDesc = bigOfs || size >= 0xFFFFFFFFL;
                var d = new byte[bigDesc ? 24 : 16];
                p = 0;
                U32(d, ref p, 0x08074b50); U32(d, ref p, crc);
                if (bigDesc) { U64(d, ref p, (ulong)size); U64(d, ref p, (ulong)size); }
                else { U32(d, ref p, (uint)size); U32(d, ref p, (uint)size); }
                Raw(d, d.Length);
                _records.Add((nameBytes, offset, size, crc));
            }

            public string SerializationId()
            {
                ulong nameHash = 14695981039346656037UL, crcFold = 0;
                foreach (var r in _records)
                {
                    foreach (var b in r.name) { nameHash ^= b; nameHash *= 1099511628211UL; }
                    crcFold = unchecked(crcFold * 31 + r.crc);
                }
                return nameHash.ToString("D20") + crcFold.ToString("D20");
            }

            public void Finish()
            {
                long cdStart = _pos;
                foreach (var r in _records)
                {
                    bool bigSize = r.size >= 0xFFFFFFFFL, bigOfs = r.offset >= 0xFFFFFFFFL;
                    int z64 = bigSize || bigOfs ? 4 + (bigSize ? 16 : 0) + (bigOfs ? 8 : 0) : 0;
                    var c = new byte[46 + r.name.Length + z64];
                    int p = 0;
                    U32(c, ref p, 0x02014b50); U16(c, ref p, 0); U16(c, ref p, 0); U16(c, ref p, 0x0808); U16(c, ref p, 0);
                    U16(c, ref p, 0); U16(c, ref p, 0); U32(c, ref p, r.crc);
                    U32(c, ref p, bigSize ? 0xFFFFFFFF : (uint)r.size); U32(c, ref p, bigSize ? 0xFFFFFFFF : (uint)r.size);
                    U16(c, ref p, r.name.Length); U16(c, ref p, z64); U16(c, ref p, 0); U16(c, ref p, 0); U16(c, ref p, 0);
                    U32(c, ref p, 0); U32(c, ref p, bigOfs ? 0xFFFFFFFF : (uint)r.offset);
                    Buffer.BlockCopy(r.name, 0, c, p, r.name.Length); p += r.name.Length;
                    if (z64 > 0)
                    {
                        U16(c, ref p, 1); U16(c, ref p, z64 - 4);
                        if (bigSize) { U64(c, ref p, (ulong)r.size); U64(c, ref p, (ulong)r.size); }
                        if (bigOfs) U64(c, ref p, (ulong)r.offset);
                    }
                    Raw(c, c.Length);
                }
                long cdSize = _pos - cdStart;
                long z64End = _pos;
                var e = new byte[56 + 20 + 22];
                int q = 0;
                U32(e, ref q, 0x06064b50); U64(e, ref q, 44); U16(e, ref q, 0x031e); U16(e, ref q, 0x2d); U32(e, ref q, 0); U32(e, ref q, 0);
                U64(e, ref q, (ulong)_records.Count); U64(e, ref q, (ulong)_records.Count); U64(e, ref q, (ulong)cdSize); U64(e, ref q, (ulong)cdStart);
                U32(e, ref q, 0x07064b50); U32(e, ref q, 0); U64(e, ref q, (ulong)z64End); U32(e, ref q, 1);
                U32(e, ref q, 0x06054b50); U16(e, ref q, 0); U16(e, ref q, 0);
                int n16 = Math.Min(_records.Count, 0xFFFF);
                U16(e, ref q, n16); U16(e, ref q, n16);
                U32(e, ref q, cdSize >= 0xFFFFFFFFL ? 0xFFFFFFFF : (uint)cdSize);
                U32(e, ref q, cdStart >= 0xFFFFFFFFL ? 0xFFFFFFFF : (uint)cdStart);
                U16(e, ref q, 0);
                Raw(e, e.Length);
                _s.Flush();
            }

            private void Raw(byte[] b, int n) { _s.Write(b, 0, n); _pos += n; }

            private static void U16(byte[] b, ref int p, int v) { b[p++] = (byte)v; b[p++] = (byte)(v >> 8); }
            private static void U32(byte[] b, ref int p, uint v) { for (int i = 0; i < 4; i++) b[p++] = (byte)(v >> (8 * i)); }
            private static void U64(byte[] b, ref int p, ulong v) { for (int i = 0; i < 8; i++) b[p++] = (byte)(v >> (8 * i)); }
        }
    }
}
