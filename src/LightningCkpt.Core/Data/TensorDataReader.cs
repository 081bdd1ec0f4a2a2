using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using LightningCkpt.Container;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Reads tensor elements in row-major order in their little-endian form with positional reads into buffers —
    /// never a memory map, so a file truncated or rewritten under the reader gives a
    /// <see cref="CheckpointFormatException"/> ("changed while it was being read; retry"), never a signal.
    /// Each storage is read from its own <see cref="StorageRef.File"/> (a checkpoint may span files); that file must
    /// still be the version recorded when it was opened, checked before and after every read. Deflated entries are
    /// inflated as a stream; pickle-carried bytes are copied from memory. Not thread-safe: one reader per thread
    /// (the read-ahead worker uses the reader while the caller only computes).
    /// </summary>
    public sealed unsafe class TensorDataReader : IDisposable
    {
        /// <summary>Buffer size callers use for their own chunked copies.</summary>
        public const int ChunkSize = 1 << 20;

        private readonly Dictionary<SourceFile, Stream> _files = new Dictionary<SourceFile, Stream>();
        private InflateCursor? _inflate;
        private byte[]? _window;
        private StorageRef? _windowStorage;
        private long _windowStart = -1, _windowEnd = -1;
        private BlockGather? _blocks;

        public TensorDataReader(ReadProgress? progress = null) => Progress = progress ?? new ReadProgress();

        /// <summary>Kept for callers that hold a checkpoint; storages are read from their own files either way.</summary>
        public TensorDataReader(Checkpoint checkpoint, ReadProgress? progress = null) : this(progress) { }

        /// <summary>Test hook: called before every storage read (on the read-ahead worker), e.g. to truncate the file between chunks.</summary>
        internal Action<StorageRef, long>? BeforeStorageRead { get; set; }

        /// <summary>Cancellation and the count of bytes handed on, shared with the caller.</summary>
        public ReadProgress Progress { get; }

        /// <summary>
        /// The primitive every data path uses: elements [<paramref name="startElement"/>, +<paramref name="count"/>)
        /// of the view in row-major order, little-endian, packed into <paramref name="dst"/> from index 0 (count ×
        /// item size bytes; packed sub-byte dtypes: whole bytes of a contiguous view). Strided views are gathered
        /// from windows of the storage of at most <see cref="Limits.MaxGatherWindowBytes"/> each.
        /// </summary>
        public void ReadElements(TensorRef t, long startElement, int count, byte[] dst)
        {
            if (!t.HasData) throw new InvalidOperationException($"{t} {t.NoDataReason}");
            if (startElement < 0 || count < 0 || startElement > t.Numel - count) throw new ArgumentOutOfRangeException(nameof(startElement));
            if (count == 0) return;
            if (t.IsChunked) { ChunkedTensorReader.ReadElements(this, t, startElement, count, dst); return; }
            var s = t.Storage!;
            if (t.DType.BitsPerElement < 8)
            {
                // packed sub-byte types are only addressable whole-byte-wise when contiguous
                if (!t.IsContiguous) throw new InvalidOperationException($"non-contiguous {t.DType.Name} views cannot be read");
                long perByte = 8 / t.DType.BitsPerElement;
                if ((t.StorageOffset + startElement) % perByte != 0 || (count % perByte != 0 && startElement + count != t.Numel))
                    throw new ArgumentOutOfRangeException(nameof(startElement), $"{t.DType.Name} elements are read in whole bytes");
                long first = t.DType.BytesFor(t.StorageOffset + startElement);
                ReadStorageBytes(s, first, dst, 0, (int)t.DType.BytesFor(count));
                return;
            }
            int item = t.DType.ItemSize;
            if (dst.Length < (long)count * item) throw new ArgumentException("buffer too small", nameof(dst));
            if (t.IsContiguous) ReadStorageBytes(s, (t.StorageOffset + startElement) * item, dst, 0, count * item);
            else Gather(t, startElement, count, dst, 0);
            if (s.IsBigEndian) SwapToLittleEndian(t.DType, dst, count * item);
            if (t.IsConj || t.IsNeg) ViewBits.Resolve(t, dst, count);
        }

        /// <summary>
        /// Gathers a strided range: from one read of the view's whole span when it fits the gather window, otherwise
        /// by <see cref="BlockGather"/>, which reads only the pieces the range needs, neighbours together.
        /// </summary>
        private void Gather(TensorRef t, long start, int count, byte[] dst, int at)
        {
            int item = t.DType.ItemSize;
            long viewLo = t.StorageOffset, viewHi = t.ComputeSpanEnd();
            if ((viewHi - viewLo) * item > GatherWindowBytes)
            {
                var s = t.Storage!;
                (_blocks ??= new BlockGather()).Gather(t, start, count, dst, at, GatherWindowBytes, (long lo, long hi, out long baseByte) =>
                {
                    var w = Window(s, lo, hi);
                    baseByte = _windowStart;
                    return w;
                });
                return;
            }
            var window = Window(t.Storage!, viewLo * item, viewHi * item);
            var cursor = new ViewCursor(t.Shape, t.Stride, t.StorageOffset, start, count);
            long windowBase = _windowStart;
            int n;
            while ((n = cursor.NextRun(int.MaxValue, out long off)) > 0)
            {
                int bytes = n * item;
                int src = (int)(off * item - windowBase);
                if (bytes <= 16) for (int k = 0; k < bytes; k++) dst[at + k] = window[src + k];
                else Buffer.BlockCopy(window, src, dst, at, bytes);
                at += bytes;
            }
        }

        /// <summary>Largest storage window one gather reads (<see cref="Limits.MaxGatherWindowBytes"/>; smaller in tests).</summary>
        internal int GatherWindowBytes { get; set; } = Limits.MaxGatherWindowBytes;

        /// <summary>Storage bytes [start, end) in the reader's window buffer, reusing the window when it already holds them.</summary>
        private byte[] Window(StorageRef s, long start, long end)
        {
            if (ReferenceEquals(s, _windowStorage) && start >= _windowStart && end <= _windowEnd) return _window!;
            int length = (int)(end - start);
            if (_window == null || _window.Length < length) _window = new byte[Math.Max(length, 1 << 16)];
            _windowStorage = null;
            ReadStorageBytes(s, start, _window, 0, length);
            _windowStorage = s;
            _windowStart = start;
            _windowEnd = end;
            return _window;
        }

        /// <summary>
        /// Bytes [<paramref name="byteOffset"/>, +<paramref name="count"/>) of a storage, as stored (no byte-order
        /// change): from the file with a checked positional read, from the inflated stream, or from pickle bytes.
        /// </summary>
        internal void ReadStorageBytes(StorageRef s, long byteOffset, byte[] dst, int dstOffset, int count)
        {
            Progress.Cancellation.ThrowIfCancellationRequested();
            ReadHooks.BeforeRead(count);
            BeforeStorageRead?.Invoke(s, byteOffset);
            if (byteOffset < 0 || count < 0 || byteOffset > Available(s) - count)
                throw new CheckpointFormatException(s.File?.Path ?? "", $"storage '{s.Key}'", $"{count} bytes at {byteOffset} lie outside its {Available(s)} bytes") { Defect = CheckpointDefect.ViewOutOfBounds };
            if (s.InlineData != null)
            {
                Buffer.BlockCopy(s.InlineData, (int)byteOffset, dst, dstOffset, count);
                return;
            }
            var file = s.File ?? throw new InvalidOperationException($"{s} is not bound to a file");
            if (file.Remote == null && s.Entry is { IsStored: true } entry && !entry.IsLocated && entry.Directory is { } zip && ReferenceEquals(zip.Source, file))
                zip.LocateWith(entry, OpenData(file)); // its local header through the stream the data is read with
            if (s.FileOffset >= 0)
            {
                var fs = OpenData(file);
                file.ReadAt(fs, s.FileOffset + byteOffset, dst, dstOffset, count, $"storage '{s.Key}'", s.FileOffset + Available(s));
                return;
            }
            if (s.Entry != null && s.Entry.IsDeflated)
            {
                if (_inflate == null || !ReferenceEquals(_inflate.Entry, s.Entry))
                {
                    _inflate?.Dispose();
                    _inflate = new InflateCursor(file, s.Entry);
                }
                _inflate.Read(byteOffset, dst, dstOffset, count, Progress);
                return;
            }
            throw new InvalidOperationException($"{s} has no data in the file");
        }

        /// <summary>
        /// Reads <paramref name="file"/> through <paramref name="open"/>, a stream its opener keeps and closes (the one the
        /// checkpoint was loaded from): no second open. The file's identity is still checked after every read.
        /// </summary>
        internal void Borrow(SourceFile file, Stream open)
        {
            if (_files.ContainsKey(file)) return;
            _files[file] = open;
            _borrowed.Add(open);
        }

        private readonly HashSet<Stream> _borrowed = new HashSet<Stream>();

        private Stream OpenData(SourceFile file)
        {
            if (!_files.TryGetValue(file, out var fs)) _files[file] = fs = file.OpenForData();
            return fs;
        }

        private static long Available(StorageRef s) =>
            s.InlineData != null ? s.InlineData.Length : Math.Max(s.DeclaredBytes, s.AvailableBytes);

        /// <summary>
        /// Calls <paramref name="sink"/> with consecutive chunks of the tensor's row-major element bytes (each a
        /// whole number of elements), reading the next chunk while the sink processes this one. Counts the bytes in
        /// <see cref="Progress"/> and stops with OperationCanceledException within one chunk of cancellation.
        /// </summary>
        public void ReadRowMajor(TensorRef t, Action<byte[], int> sink) => ReadRowMajor(t, sink, Progress.Cancellation);

        /// <inheritdoc cref="ReadRowMajor(TensorRef, Action{byte[], int})"/>
        public void ReadRowMajor(TensorRef t, Action<byte[], int> sink, CancellationToken cancellation)
        {
            if (!t.HasData) throw new InvalidOperationException($"{t} {t.NoDataReason}");
            DistinctView.CheckMaterialisable(t, t.Storage?.File?.Path ?? "", "reading every element");
            long chunkElements = ChunkElements(t);
            long chunks = (t.Numel + chunkElements - 1) / chunkElements;
            ReadAhead.Run(chunks, 1,
                (i, slot) => ReadElements(t, i * chunkElements, ChunkCount(t, i, chunkElements), slot[0]),
                (i, slot) =>
                {
                    int n = (int)t.DType.BytesFor(ChunkCount(t, i, chunkElements));
                    sink(slot[0], n);
                    Progress.Advance(n);
                },
                cancellation);
        }

        /// <summary>
        /// Elements [<paramref name="start"/>, <paramref name="end"/>) of the view in row-major order, read on the
        /// calling thread (no read-ahead worker: the caller is one of several workers that already keep every core
        /// busy) in pieces of <paramref name="pieceElements"/> into <paramref name="buffer"/>, small enough to stay in
        /// the core's cache between the read and the sink. <paramref name="sink"/> gets the buffer and the byte count
        /// of each piece (a whole number of elements); bytes are counted in <see cref="Progress"/>, which also stops
        /// the pass within one piece of cancellation.
        /// </summary>
        internal void ReadRange(TensorRef t, long start, long end, int pieceElements, byte[] buffer, Action<byte[], int> sink)
        {
            for (long at = start; at < end; at += pieceElements)
            {
                int count = (int)Math.Min(pieceElements, end - at);
                ReadElements(t, at, count, buffer);
                int n = (int)t.DType.BytesFor(count);
                sink(buffer, n);
                Progress.Advance(n);
            }
        }

        /// <summary>
        /// Elements per piece of <see cref="ReadRange"/>: about <see cref="PieceBytes"/> and a multiple of
        /// <paramref name="multiple"/> elements (the statistics' block), whole bytes for sub-byte dtypes.
        /// </summary>
        internal static int PieceElements(TensorRef t, int multiple = 1)
        {
            int bytes = PieceBytes(t);
            if (t.DType.BitsPerElement < 8) return bytes * (8 / t.DType.BitsPerElement);
            long perPiece = Math.Max(1, bytes / t.DType.ItemSize / multiple);
            return (int)(perPiece * multiple);
        }

        /// <summary>
        /// Cache-sized pieces (<see cref="Limits.CachedPieceBytes"/>) for views read in place; a strided view keeps
        /// whole read chunks, since a gather of a wide view reads the storage blocks each range needs and a larger
        /// range shares more of them.
        /// </summary>
        internal static int PieceBytes(TensorRef t) => t.IsChunked || t.IsContiguous ? Limits.CachedPieceBytes : Limits.ReadChunkBytes;

        /// <summary>
        /// True when any element range of the view can be read without reading what comes before it (a contiguous
        /// view of a stored or in-memory storage, or a chunked tensor of such pieces): then several workers can share
        /// one tensor. Deflated entries inflate from their start, and strided views read a whole window per reader.
        /// </summary>
        internal static bool IsRandomAccess(TensorRef t)
        {
            if (t.IsChunked)
            {
                foreach (var c in t.Chunks!.Chunks)
                    if (c.Piece.Storage == null || !PositionalStorage(c.Piece.Storage)) return false;
                return true;
            }
            return t.Storage != null && t.IsContiguous && t.DType.BitsPerElement >= 8 && PositionalStorage(t.Storage);
        }

        private static bool PositionalStorage(StorageRef s) => s.InlineData != null || s.Entry == null || !s.Entry.IsDeflated;

        /// <summary>Elements per read-ahead chunk: a whole number of bytes for sub-byte dtypes.</summary>
        internal static long ChunkElements(TensorRef t) =>
            t.DType.BitsPerElement < 8 ? Limits.ReadChunkBytes * (8L / t.DType.BitsPerElement) : Limits.ReadChunkBytes / t.DType.ItemSize;

        private static int ChunkCount(TensorRef t, long i, long chunkElements) => (int)Math.Min(chunkElements, t.Numel - i * chunkElements);

        /// <summary>
        /// Streams the first <paramref name="bytes"/> bytes of a storage, in order, through <paramref name="buffer"/>
        /// (full chunks except the last), as stored: the writer copies storages (and so keeps expanded views expanded).
        /// </summary>
        public void CopyStorage(StorageRef storage, long bytes, byte[] buffer, Action<byte[], int> sink)
        {
            for (long at = 0; at < bytes;)
            {
                int n = (int)Math.Min(buffer.Length, bytes - at);
                ReadStorageBytes(storage, at, buffer, 0, n);
                sink(buffer, n);
                Progress.Advance(n);
                at += n;
            }
        }

        /// <summary>SHA-256 of the row-major little-endian element bytes: exactly t.contiguous().numpy().tobytes().</summary>
        public string Sha256(TensorRef t)
        {
            using var sha = SHA256.Create();
            ReadRowMajor(t, (b, n) => sha.TransformBlock(b, 0, n, null, 0));
            sha.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
            return ToHex(sha.Hash!);
        }

        /// <summary>
        /// The same hash read on the calling thread through <paramref name="buffer"/> and hashed straight from it: for
        /// workers of <see cref="ParallelPasses"/>, which keep every core busy without a read-ahead thread.
        /// </summary>
        internal string Sha256(TensorRef t, PieceBuffer buffer)
        {
            if (!t.HasData) throw new InvalidOperationException($"{t} {t.NoDataReason}");
            DistinctView.CheckMaterialisable(t, t.Storage?.File?.Path ?? "", "reading every element");
            using var sha = SHA256.Create();
            int piece = PieceElements(t);
            ReadRange(t, 0, t.Numel, piece, buffer.For(t.DType, piece), (b, n) => sha.TransformBlock(b, 0, n, null, 0));
            sha.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
            return ToHex(sha.Hash!);
        }

        /// <summary>The row-major element bytes; refuses tensors larger than <paramref name="maxBytes"/>.</summary>
        public byte[] ToBytes(TensorRef t, long maxBytes = 64L << 20)
        {
            if (t.NBytes > maxBytes) throw new InvalidOperationException($"tensor of {t.NBytes} bytes exceeds the {maxBytes}-byte cap");
            var result = new byte[t.NBytes];
            int at = 0;
            ReadRowMajor(t, (b, n) => { Buffer.BlockCopy(b, 0, result, at, n); at += n; });
            return result;
        }

        /// <summary>
        /// Before a few one-element tensors of a remote checkpoint are read (Get-CkptInfo's scores and AMP scale),
        /// brings the span of the zip that holds all of them into the cache with one range when it is small: torch
        /// writes neighbouring storages close together, so two scores cost one request, not one each. A span that
        /// is estimated short only costs the request it would have cost anyway.
        /// </summary>
        internal static void WarmNearbyRemote(IEnumerable<object?> values)
        {
            Remote.RemoteObject? remote = null;
            long start = long.MaxValue, end = -1;
            foreach (var v in values)
            {
                if (!(v is TensorRef { Numel: 1, Storage: { Entry: { } entry, File: { Remote: { } r } } })) continue;
                if (remote != null && !ReferenceEquals(remote, r)) return;
                remote = r;
                start = Math.Min(start, entry.LocalHeaderOffset);
                // header, name, and torch's alignment padding (an extra field of at most 4 + 63 bytes)
                end = Math.Max(end, entry.LocalHeaderOffset + 30 + System.Text.Encoding.UTF8.GetByteCount(entry.Name) + 4 + 63 + entry.CompressedSize);
            }
            if (remote != null && end - start <= Remote.RemoteObject.BlockBytes) remote.Warm(start, (int)(end - start));
        }

        /// <summary>The single value of a one-element tensor as double (scores, steps); null when not numeric.</summary>
        public double? ReadScalar(TensorRef t)
        {
            if (t.Numel != 1 || !t.HasData) return null;
            var b = new byte[Math.Max(16, t.DType.ItemSize)];
            ReadElements(t, 0, 1, b);
            return ElementDecoder.ToDouble(b, 0, t.DType);
        }

        /// <summary>Turns big-endian elements into little-endian in place (complex numbers swap each half).</summary>
        internal static void SwapToLittleEndian(DType dtype, byte[] buffer, int count)
        {
            int width = dtype.IsComplex ? dtype.ItemSize / 2 : dtype.ItemSize;
            if (width <= 1) return;
            for (int i = 0; i + width <= count; i += width) Array.Reverse(buffer, i, width);
        }

        internal static string ToHex(byte[] hash)
        {
            var c = new char[hash.Length * 2];
            const string hex = "0123456789abcdef";
            for (int i = 0; i < hash.Length; i++) { c[2 * i] = hex[hash[i] >> 4]; c[2 * i + 1] = hex[hash[i] & 15]; }
            return new string(c);
        }

        public void Dispose()
        {
            foreach (var fs in _files.Values) if (!_borrowed.Contains(fs)) fs.Dispose();
            _files.Clear();
            _borrowed.Clear();
            _inflate?.Dispose();
            _inflate = null;
            _window = null;
            _windowStorage = null;
        }
    }
}
