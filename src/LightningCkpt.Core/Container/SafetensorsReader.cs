using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Container
{
    /// <summary>
    /// Reads a safetensors file: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
    /// shape and byte range, then the bytes. The header is checked against the file before anything else: every
    /// range lies in the data area, holds exactly the elements its shape needs, and the ranges tile the data area
    /// with no hole or overlap (the format's own rule). The result is a flat state dict in header order.
    /// </summary>
    internal static class SafetensorsReader
    {
        /// <summary>True when the first bytes look like a safetensors header (length, then '{').</summary>
        public static bool LooksLike(Stream s)
        {
            if (s.Length < 10) return false;
            var head = new byte[9];
            s.Position = 0;
            if (ZipDirectory.ReadFully(s, head, 9) != 9) return false;
            ulong n = BitConverter.ToUInt64(head, 0);
            return head[8] == '{' && n >= 2 && n <= (ulong)(s.Length - 8);
        }

        /// <summary>The end of the data area the header's entries claim (the furthest data_offsets end; malformed entries skipped).</summary>
        private static long DataEnd(JsonObject header)
        {
            long end = 0;
            foreach (var m in header.Members)
                if (m.Key != "__metadata__" && m.Value is JsonObject entry && entry["data_offsets"] is List<object?> offsets && offsets.Count == 2 && offsets[1] is long e)
                    end = Math.Max(end, e);
            return end;
        }

        public static LoadedPickle Load(Stream s, string path, out List<KeyValuePair<string, string>> metadata)
        {
            var lenBytes = ZipDirectory.ReadExactly(s, 0, 8, path, "safetensors header length");
            ulong headerLength = BitConverter.ToUInt64(lenBytes, 0);
            if (headerLength > (ulong)Limits.MaxJsonHeaderBytes)
                throw new CheckpointFormatException(path, "safetensors header", $"the header claims {headerLength} bytes, more than the format's limit of {Limits.MaxJsonHeaderBytes}") { Kind = CheckpointErrorKind.LimitExceeded };
            if (headerLength > (ulong)(s.Length - 8))
                throw new CheckpointFormatException(path, "safetensors header", $"the header claims {headerLength} bytes but the file has only {s.Length - 8} after the length", 0) { Defect = CheckpointDefect.Truncated };
            var headerBytes = ZipDirectory.ReadExactly(s, 8, (int)headerLength, path, "safetensors header");
            string text;
            try { text = new UTF8Encoding(false, true).GetString(headerBytes); }
            catch (DecoderFallbackException) { throw new CheckpointFormatException(path, "safetensors header", "the header is not valid UTF-8", 8); }
            var header = JsonText.Parse(text, path, "safetensors header") as JsonObject
                ?? throw new CheckpointFormatException(path, "safetensors header", "the header is not a JSON object", 8);

            long dataStart = 8 + (long)headerLength;
            long dataLength = s.Length - dataStart;
            metadata = new List<KeyValuePair<string, string>>();
            var root = new PyDict();
            var storages = new List<StorageRef>();
            var ranges = new List<(long begin, long end, string name)>();
            foreach (var m in header.Members)
            {
                if (m.Key == "__metadata__")
                {
                    if (m.Value is not JsonObject md) throw Bad(path, "__metadata__ is not an object of strings");
                    foreach (var e in md.Members)
                        metadata.Add(new KeyValuePair<string, string>(e.Key, e.Value as string ?? throw Bad(path, $"__metadata__ value of '{e.Key}' is not a string")));
                    continue;
                }
                var entry = m.Value as JsonObject ?? throw Bad(path, $"entry '{m.Key}' is not an object");
                var dtypeName = entry["dtype"] as string ?? throw Bad(path, $"entry '{m.Key}' has no dtype string");
                var dtype = DType.FromSafetensorsName(dtypeName)
                    ?? throw new CheckpointFormatException(path, "safetensors header", $"entry '{m.Key}' has dtype '{dtypeName}', which this version does not read") { Kind = CheckpointErrorKind.Unsupported };
                var shape = Longs(entry["shape"], path, m.Key, "shape");
                var offsets = Longs(entry["data_offsets"], path, m.Key, "data_offsets");
                if (shape.Length > Limits.MaxTensorDims) throw new CheckpointFormatException(path, "safetensors header", $"entry '{m.Key}' has {shape.Length} dimensions (limit {Limits.MaxTensorDims})") { Kind = CheckpointErrorKind.LimitExceeded };
                if (offsets.Length != 2) throw Bad(path, $"entry '{m.Key}' has {offsets.Length} data_offsets, expected [begin, end]");
                long begin = offsets[0], end = offsets[1];
                if (begin < 0 || end < begin)
                    throw new CheckpointFormatException(path, "safetensors header", $"entry '{m.Key}' claims bytes [{begin}, {end}) of the data area") { Defect = CheckpointDefect.Truncated };
                if (end > dataLength)
                    throw new CheckpointFormatException(path, "safetensors header",
                        $"entry '{m.Key}' claims bytes [{begin}, {end}) but the data area has {dataLength} bytes; {Container.CutShort.Sentence(s.Length, dataStart + DataEnd(header), atLeast: false)}") { Defect = CheckpointDefect.Truncated };
                long numel = TensorSize.Elements(shape, m.Key, path, "safetensors header");
                long bytes = TensorSize.Bytes(dtype, numel, m.Key, shape, path, "safetensors header");
                if (bytes != end - begin)
                    throw new CheckpointFormatException(path, "safetensors header", $"entry '{m.Key}' ({dtype.Name} [{string.Join(", ", shape)}]) needs {bytes} bytes but its range [{begin}, {end}) holds {end - begin}") { Defect = CheckpointDefect.StorageSizeMismatch };
                var storage = new StorageRef(m.Key, dtype, end - begin, "cpu", storages.Count)
                {
                    FileOffset = dataStart + begin,
                    AvailableBytes = end - begin,
                };
                storages.Add(storage);
                var t = new TensorRef(dtype, shape, TorchHost.ContiguousStride(shape), 0, storage);
                t.Validate();
                root.Set(m.Key, t);
                ranges.Add((begin, end, m.Key));
            }
            ranges.Sort((a, b) => a.begin != b.begin ? a.begin.CompareTo(b.begin) : a.end.CompareTo(b.end));
            long at = 0;
            foreach (var r in ranges)
            {
                if (r.begin > at) throw new CheckpointFormatException(path, "safetensors header", $"bytes [{at}, {r.begin}) of the data area belong to no tensor (a hole before '{r.name}')") { Defect = CheckpointDefect.MissingStorage };
                if (r.begin < at) throw new CheckpointFormatException(path, "safetensors header", $"'{r.name}' overlaps the tensor before it at bytes [{r.begin}, {at})") { Defect = CheckpointDefect.ViewOutOfBounds };
                at = r.end;
            }
            if (at != dataLength)
                throw new CheckpointFormatException(path, "safetensors header", $"the file has {dataLength - at} bytes after the last tensor that belong to no tensor") { Defect = CheckpointDefect.MissingStorage };
            return new LoadedPickle(root, storages, new GlobalsRecorder(), 0, (long)headerLength);
        }

        private static CheckpointFormatException Bad(string path, string reason) => new CheckpointFormatException(path, "safetensors header", reason);

        private static long[] Longs(object? v, string path, string name, string field)
        {
            if (v is not List<object?> list) throw Bad(path, $"entry '{name}' has no {field} list");
            var r = new long[list.Count];
            for (int i = 0; i < r.Length; i++) r[i] = list[i] is long l ? l : throw Bad(path, $"entry '{name}' {field}[{i}] is not an integer");
            return r;
        }
    }
}
