using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Reads tensor elements in row-major order in their little-endian form, straight from the mapped file (stored
    /// zip entries and legacy files), from pickle-carried bytes, or from an inflated copy of a deflated entry.
    /// Strided, transposed and offset views are walked in place.
    /// </summary>
    public sealed unsafe class TensorDataReader : IDisposable
    {
        public const int ChunkSize = 1 << 20;
        private readonly Checkpoint _checkpoint;
        private readonly Dictionary<string, MappedFile> _mapped = new Dictionary<string, MappedFile>(StringComparer.Ordinal);
        private readonly Dictionary<Container.ZipEntry, GCHandle> _inflated = new Dictionary<Container.ZipEntry, GCHandle>();

        public TensorDataReader(Checkpoint checkpoint) => _checkpoint = checkpoint;

        /// <summary>Calls <paramref name="sink"/> with consecutive chunks of the tensor's row-major element bytes.</summary>
        public void ReadRowMajor(TensorRef t, Action<byte[], int> sink)
        {
            if (t.IsChunked) { ChunkedTensorReader.ReadRowMajor(this, t, sink); return; }
            var buffer = new byte[(int)Math.Min(ChunkSize, Math.Max(16, t.NBytes))];
            int fill = 0;
            ForEachRun(t, (src, len) =>
            {
                while (len > 0)
                {
                    int n = (int)Math.Min(len, buffer.Length - fill);
                    Marshal.Copy((IntPtr)src, buffer, fill, n);
                    fill += n; src += n; len -= n;
                    if (fill == buffer.Length) { Finish(t, buffer, fill); sink(buffer, fill); fill = 0; }
                }
            });
            if (fill > 0) { Finish(t, buffer, fill); sink(buffer, fill); }
        }

        /// <summary>
        /// Streams the first <paramref name="bytes"/> bytes of a storage, in order, through <paramref name="buffer"/>
        /// (full chunks except the last). Bytes lying in the file are read with plain sequential reads — for a
        /// one-pass copy that is one memcpy, where the map would add a page fault per 4 KB.
        /// </summary>
        public void CopyStorage(StorageRef storage, long bytes, byte[] buffer, Action<byte[], int> sink)
        {
            if (storage.FileOffset < 0 || storage.InlineData != null)
            {
                int fill = 0;
                var whole = new TensorRef(DType.UInt8, new[] { bytes }, new[] { 1L }, 0, storage);
                ForEachRun(whole, (src, len) =>
                {
                    while (len > 0)
                    {
                        int n = (int)Math.Min(len, buffer.Length - fill);
                        Marshal.Copy((IntPtr)src, buffer, fill, n);
                        fill += n; src += n; len -= n;
                        if (fill == buffer.Length) { sink(buffer, fill); fill = 0; }
                    }
                });
                if (fill > 0) sink(buffer, fill);
                return;
            }
            var file = storage.FilePath ?? _checkpoint.FilePath;
            if (_sequential != null && _sequential.Name != file) { _sequential.Dispose(); _sequential = null; }
            _sequential ??= new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
            if (storage.FileOffset > _sequential.Length - bytes)
                throw new CheckpointFormatException(file, $"storage '{storage.Key}'", $"{bytes} bytes at {storage.FileOffset} lie outside the {_sequential.Length}-byte file (was the file changed?)");
            _sequential.Position = storage.FileOffset;
            for (long left = bytes; left > 0;)
            {
                int want = (int)Math.Min(buffer.Length, left);
                int got = Container.ZipDirectory.ReadFully(_sequential, buffer, want);
                if (got != want) throw new CheckpointFormatException(file, $"storage '{storage.Key}'", "the file ended early (was it changed?)");
                sink(buffer, got);
                left -= got;
            }
        }

        private FileStream? _sequential;

        /// <summary>SHA-256 of the row-major little-endian element bytes: exactly t.contiguous().numpy().tobytes().</summary>
        public string Sha256(TensorRef t)
        {
            using var sha = SHA256.Create();
            ReadRowMajor(t, (b, n) => sha.TransformBlock(b, 0, n, null, 0));
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

        /// <summary>The single value of a one-element tensor as double (scores, steps); null when not numeric.</summary>
        public double? ReadScalar(TensorRef t)
        {
            if (t.Numel != 1 || !t.HasData) return null;
            var b = ToBytes(t, 64);
            return ElementDecoder.ToDouble(b, 0, t.DType);
        }

        /// <summary>
        /// Walks the view as runs of contiguous bytes in row-major order. Byte order is not fixed here; see Finish.
        /// </summary>
        public void ForEachRun(TensorRef t, RunHandler run)
        {
            if (!t.HasData) throw new InvalidOperationException($"{t} has no data in the file (layout {t.Layout}, device {t.Device})");
            if (t.Numel == 0) return;
            if (t.IsChunked) { ChunkedTensorReader.ForEachRun(this, t, run); return; }
            byte* basePtr = StoragePointer(t.Storage!);
            int item = t.DType.ItemSize;
            if (t.DType.BitsPerElement < 8)
            {
                // packed sub-byte types are only addressable whole-byte-wise when contiguous
                if (!t.IsContiguous) throw new InvalidOperationException($"non-contiguous {t.DType.Name} views cannot be read");
                run(basePtr + t.DType.BytesFor(t.StorageOffset), t.NBytes);
                return;
            }
            if (t.IsContiguous)
            {
                run(basePtr + t.StorageOffset * item, t.Numel * item);
                return;
            }
            // ViewCursor merges trailing contiguous dimensions into runs and steps through the rest
            var cursor = new ViewCursor(basePtr, new ViewGeometry(t.DType, t.Shape, t.Stride, t.StorageOffset, t.Storage!.IsBigEndian), 0, t.Numel);
            int n;
            while ((n = cursor.NextRun(int.MaxValue, out var src)) > 0) run(src, (long)n * item);
        }

        public delegate void RunHandler(byte* source, long length);

        /// <summary>Pointer to element 0 of the tensor's storage (mapped, pinned inline or inflated bytes).</summary>
        internal byte* BasePointer(TensorRef t)
        {
            if (!t.HasData) throw new InvalidOperationException($"{t} has no data in the file (layout {t.Layout}, device {t.Device})");
            if (t.IsChunked) throw new InvalidOperationException($"{t} is assembled from {t.Chunks!.Chunks.Count} chunks and has no single base pointer; read it in row-major order");
            return StoragePointer(t.Storage!);
        }

        private byte* StoragePointer(StorageRef s)
        {
            if (s.InlineData != null)
            {
                // pickle-carried bytes (numpy): pin once for the reader's lifetime
                var h = GCHandle.Alloc(s.InlineData, GCHandleType.Pinned);
                _pins.Add(h);
                return (byte*)h.AddrOfPinnedObject();
            }
            if (s.FileOffset >= 0)
            {
                var file = s.FilePath ?? _checkpoint.FilePath;
                if (!_mapped.TryGetValue(file, out var mapped)) _mapped[file] = mapped = new MappedFile(file);
                return mapped.At(s.FileOffset, s.DeclaredBytes);
            }
            if (s.Entry != null)
            {
                if (!_inflated.TryGetValue(s.Entry, out var handle))
                {
                    byte[] data;
                    using (var fs = new FileStream(s.FilePath ?? _checkpoint.FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                        data = (s.Archive ?? _checkpoint.Zip!).ReadAll(fs, s.Entry, int.MaxValue);
                    handle = GCHandle.Alloc(data, GCHandleType.Pinned);
                    _inflated.Add(s.Entry, handle);
                }
                return (byte*)handle.AddrOfPinnedObject();
            }
            throw new InvalidOperationException($"{s} has no data in the file");
        }

        private readonly List<GCHandle> _pins = new List<GCHandle>();

        /// <summary>Turns big-endian elements into little-endian in place (complex numbers swap each half).</summary>
        private static void Finish(TensorRef t, byte[] buffer, int count)
        {
            if (t.Storage == null || !t.Storage.IsBigEndian) return;
            int width = t.DType.IsComplex ? t.DType.ItemSize / 2 : t.DType.ItemSize;
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
            foreach (var h in _inflated.Values) h.Free();
            _inflated.Clear();
            foreach (var h in _pins) h.Free();
            _pins.Clear();
            foreach (var m in _mapped.Values) m.Dispose();
            _mapped.Clear();
            _sequential?.Dispose();
            _sequential = null;
        }
    }
}
