using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Text;

namespace LightningCkpt.Container
{
    /// <summary>
    /// Reads a zip's central directory (ZIP64 included) without trusting local headers for sizes. The absolute data
    /// offset of an entry needs its local header, which lies next to the data anywhere in the file: those are read
    /// lazily, when an entry's data is first needed (<see cref="Locate"/>), so opening a checkpoint for its metadata
    /// reads only the end of the file and the pickle. Every size and offset is checked against the file length
    /// before anything is allocated.
    /// </summary>
    public sealed class ZipDirectory
    {
        private const uint EocdSignature = 0x06054b50;
        private const uint Zip64LocatorSignature = 0x07064b50;
        private const uint Zip64EocdSignature = 0x06064b50;
        private const uint CentralSignature = 0x02014b50;
        private const uint LocalSignature = 0x04034b50;
        private readonly Dictionary<string, ZipEntry> _byName;
        private readonly long _length;
        private readonly object _locating = new object();
        private int _singleLocates;

        /// <summary>Entries located one by one (a file opened each time) before <see cref="Locate"/> locates them all.</summary>
        private const int SingleLocatesBeforeAll = 4;

        private ZipDirectory(string path, long length, List<ZipEntry> entries, long cdOffset, long cdSize)
        {
            _length = length;
            CentralDirectoryOffset = cdOffset;
            CentralDirectorySize = cdSize;
            FilePath = path;
            Entries = entries;
            _byName = new Dictionary<string, ZipEntry>(entries.Count, StringComparer.Ordinal);
            foreach (var e in entries)
            {
                e.Directory = this;
                if (!_byName.ContainsKey(e.Name)) _byName.Add(e.Name, e);
            }
            RootPrefix = entries.Count > 0 && entries[0].Name.IndexOf('/') is int slash && slash >= 0 ? entries[0].Name.Substring(0, slash + 1) : "";
        }

        public string FilePath { get; }
        public IReadOnlyList<ZipEntry> Entries { get; }

        /// <summary>Absolute offset of the central directory (for overlap checks).</summary>
        public long CentralDirectoryOffset { get; }

        /// <summary>Size of the central directory in bytes.</summary>
        public long CentralDirectorySize { get; }

        /// <summary>The archive's root folder with its trailing '/', taken from the first entry as torch does.</summary>
        public string RootPrefix { get; }

        /// <summary>The entry at <c>RootPrefix + relativeName</c>, or null.</summary>
        public ZipEntry? Find(string relativeName) => _byName.TryGetValue(RootPrefix + relativeName, out var e) ? e : null;

        /// <summary>The entry at <c>RootPrefix + folder + name</c>, or null (one concatenation per lookup).</summary>
        public ZipEntry? Find(string folder, string name) => _byName.TryGetValue(string.Concat(RootPrefix, folder, name), out var e) ? e : null;

        public static ZipDirectory Read(Stream s, string path)
        {
            long length = s.Length;
            var (cdOffset, cdSize, count) = FindCentralDirectory(s, length, path);
            if (count > Limits.MaxZipEntries)
                throw Error(path, "zip directory", $"{count} entries exceed the limit of {Limits.MaxZipEntries}", kind: CheckpointErrorKind.LimitExceeded);
            if (cdOffset < 0 || cdSize < 0 || cdOffset > length || cdSize > length - cdOffset)
                throw Error(path, "zip directory", $"central directory ({cdSize} bytes at {cdOffset}) lies outside the {length}-byte file");
            if (count * 46 > cdSize)
                throw Error(path, "zip directory", $"central directory of {cdSize} bytes cannot hold {count} entries");

            var cd = ReadExactly(s, cdOffset, (int)cdSize, path, "zip directory");
            var entries = new List<ZipEntry>((int)count);
            int p = 0;
            for (long i = 0; i < count; i++)
            {
                if (p + 46 > cd.Length || U32(cd, p) != CentralSignature)
                    throw Error(path, "zip directory", $"entry {i} has no central header signature", cdOffset + p);
                ushort flags = U16(cd, p + 8), method = U16(cd, p + 10);
                uint crc = U32(cd, p + 16);
                long csize = U32(cd, p + 20), usize = U32(cd, p + 24);
                int nameLen = U16(cd, p + 28), extraLen = U16(cd, p + 30), commentLen = U16(cd, p + 32);
                long lho = U32(cd, p + 42);
                if (p + 46 + nameLen + extraLen + commentLen > cd.Length)
                    throw Error(path, "zip directory", $"entry {i} runs past the end of the central directory", cdOffset + p, defect: CheckpointDefect.Truncated);
                var name = Encoding.UTF8.GetString(cd, p + 46, nameLen).Replace('\\', '/');
                ParseZip64Extra(cd, p + 46 + nameLen, extraLen, ref usize, ref csize, ref lho);
                var entry = new ZipEntry(name, method, csize, usize, crc, lho, flags);
                if (lho < 0 || lho > length - 30 || csize < 0 || usize < 0)
                    throw Error(path, $"entry '{name}'", $"local header offset {lho} or size {csize} lies outside the {length}-byte file");
                entries.Add(entry);
                p += 46 + nameLen + extraLen + commentLen;
            }
            foreach (var e in entries) CheckCentralRecord(e, path);
            var directory = new ZipDirectory(path, length, entries, cdOffset, cdSize);
            // A zip embedded in another file (a DCP blob read through a SubStream) has offsets relative to that stream,
            // which a later reopen of the file by path could not resolve: locate its entries now, through the stream.
            // (a remote file is reopened through its own source: its headers are located one by one, when read)
            if (!(s is FileStream) && !(s is Remote.RemoteStream)) directory.LocateAll(s);
            return directory;
        }

        /// <summary>What the central directory alone must get right (checked at open, for every entry).</summary>
        private static void CheckCentralRecord(ZipEntry e, string path)
        {
            if ((e.Flags & EncryptedFlags) != 0) throw Encrypted(path, e);
            if (e.IsStored && e.CompressedSize != e.UncompressedSize)
                throw Error(path, $"entry '{e.Name}'", $"stored entry has compressed size {e.CompressedSize} but size {e.UncompressedSize}");
            if (!e.IsStored && !e.IsDeflated)
                throw Error(path, $"entry '{e.Name}'", $"compression method {e.Method} is not supported (only stored and deflated)", kind: CheckpointErrorKind.Unsupported);
            if (e.IsDeflated && e.UncompressedSize > Math.Max(1, e.CompressedSize) * Limits.MaxDeflateRatio)
                throw Error(path, $"entry '{e.Name}'", $"claims {e.UncompressedSize} bytes from {e.CompressedSize} compressed, beyond deflate's limit", kind: CheckpointErrorKind.LimitExceeded);
        }

        /// <summary>
        /// Reads and checks the local header of <paramref name="e"/> and returns its data offset. The first few
        /// entries asked for are located alone (Get-CkptInfo reads one scalar tensor); after that every entry is
        /// located in one pass over the file, since the caller is evidently reading many tensors.
        /// </summary>
        internal long Locate(ZipEntry e)
        {
            lock (_locating)
            {
                if (e.IsLocated) return e.DataOffset;
                using var fs = OpenForLocate();
                LocateThrough(fs, e);
                return e.DataOffset;
            }
        }

        /// <summary>
        /// <see cref="Locate(ZipEntry)"/> through a stream of this directory's <see cref="Source"/> that a data reader
        /// already holds open: Get-CkptInfo reads a few scalar tensors (scores, AMP scale), and opening the file again
        /// for each one's header was most of a small checkpoint's system calls.
        /// </summary>
        internal void LocateWith(ZipEntry e, Stream openSource)
        {
            lock (_locating)
            {
                if (!e.IsLocated) LocateThrough(openSource, e);
            }
        }

        private void LocateThrough(Stream s, ZipEntry e)
        {
            // remote: one header per entry read, never a pass over every header of a multi-gigabyte object
            if (++_singleLocates <= SingleLocatesBeforeAll || Source?.Remote != null) LocateOne(s, e);
            else LocateAll(s);
        }

        /// <summary>Locates every entry now, through <paramref name="s"/> (the open checkpoint); bad local headers throw.</summary>
        public void LocateAll(Stream s)
        {
            lock (_locating)
            {
                var header = new byte[30];
                foreach (var e in Entries) if (!e.IsLocated) LocateOne(s, e, header);
            }
        }

        /// <summary>Locates every entry now, opening the file once.</summary>
        public void LocateAll()
        {
            lock (_locating)
            {
                if (AllLocated()) return;
                using var fs = OpenForLocate();
                LocateAll(fs);
            }
        }

        /// <summary>
        /// The file this directory was read from, with its identity at open (set by <see cref="Checkpoint"/>): a header
        /// located later is read only from that version of the file, so a file rewritten or replaced since gives the
        /// "changed since it was opened" error rather than whatever the new bytes say.
        /// </summary>
        internal SourceFile? Source { get; set; }

        private Stream OpenForLocate() =>
            Source?.OpenForData() ?? new FileStream(FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.RandomAccess);

        private bool AllLocated()
        {
            foreach (var e in Entries) if (!e.IsLocated) return false;
            return true;
        }

        /// <summary>Locates one entry through a stream that is already open.</summary>
        internal void LocateOne(Stream s, ZipEntry e, byte[]? header = null)
        {
            if (e.IsLocated) return;
            header ??= new byte[30];
            s.Position = e.LocalHeaderOffset;
            if (ReadFully(s, header, 30) != 30 || U32(header, 0) != LocalSignature)
                throw Error(FilePath, $"entry '{e.Name}'", "no local header at the offset the central directory gives", e.LocalHeaderOffset);
            if ((U16(header, 6) & EncryptedFlags) != 0) throw Encrypted(FilePath, e);
            long data = e.LocalHeaderOffset + 30 + U16(header, 26) + U16(header, 28);
            if (data > _length || e.CompressedSize > _length - data)
                throw Error(FilePath, $"entry '{e.Name}'", $"{e.CompressedSize} bytes of data at {data} run past the end of the {_length}-byte file", defect: CheckpointDefect.Truncated);
            e.SetDataOffset(data);
        }

        private static (long offset, long size, long count) FindCentralDirectory(Stream s, long length, string path)
        {
            if (length < 22) throw Error(path, "zip directory", "file is too short to hold a zip end record", defect: CheckpointDefect.Truncated);
            // The end record is the last 22 bytes unless the archive has a comment: look in a small tail first, and in
            // the largest tail a comment allows only when that fails. Searching from the end, both find the same record.
            int tailLen = (int)Math.Min(length, 1024);
            var tail = ReadExactly(s, length - tailLen, tailLen, path, "zip directory");
            int eocd = FindEndRecord(tail);
            if (eocd < 0 && tailLen < Math.Min(length, 22 + 65535 + 20))
            {
                tailLen = (int)Math.Min(length, 22 + 65535 + 20);
                tail = ReadExactly(s, length - tailLen, tailLen, path, "zip directory");
                eocd = FindEndRecord(tail);
            }
            if (eocd < 0)
                throw Error(path, "zip directory", CutShort.TorchZip(s, length, path) ?? "no end-of-central-directory record (the file may be truncated)", defect: CheckpointDefect.Truncated);
            long count = U16(tail, eocd + 10), size = U32(tail, eocd + 12), offset = U32(tail, eocd + 16);
            long eocdAbs = length - tailLen + eocd;
            if (count == 0xFFFF || size == 0xFFFFFFFF || offset == 0xFFFFFFFF)
            {
                if (eocdAbs < 20) throw Error(path, "zip directory", "ZIP64 locator missing");
                var loc = ReadExactly(s, eocdAbs - 20, 20, path, "zip directory");
                if (U32(loc, 0) == Zip64LocatorSignature)
                {
                    long z64 = (long)U64(loc, 8);
                    if (z64 < 0 || z64 > length - 56) throw Error(path, "zip directory", $"ZIP64 end record offset {z64} lies outside the file");
                    var rec = ReadExactly(s, z64, 56, path, "zip directory");
                    if (U32(rec, 0) != Zip64EocdSignature) throw Error(path, "zip directory", "ZIP64 end record signature missing", z64);
                    count = (long)U64(rec, 32);
                    size = (long)U64(rec, 40);
                    offset = (long)U64(rec, 48);
                }
            }
            return (offset, size, count);
        }

        /// <summary>The last end-of-central-directory record in <paramref name="tail"/> whose comment fits, or -1.</summary>
        private static int FindEndRecord(byte[] tail)
        {
            for (int i = tail.Length - 22; i >= 0; i--)
                if (U32(tail, i) == EocdSignature && i + 22 + U16(tail, i + 20) <= tail.Length) return i;
            return -1;
        }

        private static void ParseZip64Extra(byte[] b, int start, int len, ref long usize, ref long csize, ref long lho)
        {
            int p = start, end = start + len;
            while (p + 4 <= end)
            {
                ushort id = U16(b, p), size = U16(b, p + 2);
                int q = p + 4, qend = Math.Min(end, q + size);
                if (id == 0x0001)
                {
                    if (usize == 0xFFFFFFFF && q + 8 <= qend) { usize = (long)U64(b, q); q += 8; }
                    if (csize == 0xFFFFFFFF && q + 8 <= qend) { csize = (long)U64(b, q); q += 8; }
                    if (lho == 0xFFFFFFFF && q + 8 <= qend) { lho = (long)U64(b, q); }
                    return;
                }
                p += 4 + size;
            }
        }

        /// <summary>Reads a whole entry (stored or deflated) into memory, bounded by <paramref name="maxBytes"/>.</summary>
        public byte[] ReadAll(Stream s, ZipEntry e, long maxBytes)
        {
            LocateOne(s, e); // an entry that lies outside the file is malformed, whatever it claims to hold
            if (e.UncompressedSize > maxBytes)
                throw Error(FilePath, $"entry '{e.Name}'", $"{e.UncompressedSize} bytes exceed the {maxBytes}-byte limit for this entry", kind: CheckpointErrorKind.LimitExceeded);
            if (e.IsStored) return ReadExactly(s, e.DataOffset, (int)e.UncompressedSize, FilePath, $"entry '{e.Name}'");
            var result = new byte[e.UncompressedSize];
            using (var inflate = OpenDeflated(s, e))
            {
                int got = ReadFully(inflate, result, result.Length);
                if (got != result.Length || inflate.ReadByte() >= 0)
                    throw Error(FilePath, $"entry '{e.Name}'", $"deflated data does not inflate to the {e.UncompressedSize} bytes the directory records");
            }
            return result;
        }

        /// <summary>A stream over a deflated entry's inflated bytes.</summary>
        public Stream OpenDeflated(Stream s, ZipEntry e)
        {
            LocateOne(s, e);
            return new GuardedInflateStream(new DeflateStream(new SubStream(s, e.DataOffset, e.CompressedSize), CompressionMode.Decompress, leaveOpen: false), FilePath, e.Name);
        }

        internal static byte[] ReadExactly(Stream s, long offset, int count, string path, string part)
        {
            var buf = new byte[count];
            s.Position = offset;
            if (ReadFully(s, buf, count) != count) throw Error(path, part, $"unexpected end of file reading {count} bytes", offset, defect: CheckpointDefect.Truncated);
            return buf;
        }

        internal static int ReadFully(Stream s, byte[] buf, int count)
        {
            int got = 0;
            while (got < count)
            {
                int n = s.Read(buf, got, count - got);
                if (n <= 0) break;
                got += n;
            }
            return got;
        }

        // general purpose bit 0 (encrypted) and bit 6 (strong encryption): the bytes are ciphertext, which torch refuses
        private const ushort EncryptedFlags = 0x0041;

        private static CheckpointFormatException Encrypted(string path, ZipEntry e) =>
            Error(path, $"entry '{e.Name}'", $"entry '{e.Name}' is encrypted (zip flag bit 0 or 6): its bytes are ciphertext, and torch.load refuses encrypted entries", kind: CheckpointErrorKind.Unsupported);

        internal static CheckpointFormatException Error(string path, string part, string reason, long offset = -1,
            CheckpointErrorKind kind = CheckpointErrorKind.Malformed, CheckpointDefect defect = CheckpointDefect.None) =>
            new CheckpointFormatException(path, part, reason, offset) { Kind = kind, Defect = defect };

        internal static ushort U16(byte[] b, int i) => (ushort)(b[i] | b[i + 1] << 8);
        internal static uint U32(byte[] b, int i) => (uint)(b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24);
        internal static ulong U64(byte[] b, int i) => U32(b, i) | (ulong)U32(b, i + 4) << 32;
    }
}
