using System;
using System.Collections.Generic;
using System.IO;
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

        public static LoadedPickle Load(Stream s, string path, out List<KeyValuePair<string, string>> metadata)
        {
            var lenBytes = ZipDirectory.ReadExactly(s, 0, 8, path, "safetensors header length");
            ulong headerLength = BitConverter.ToUInt64(lenBytes, 0);
            long maxHeader = Limits.MaxSafetensorsHeaderBytes;
            if (headerLength > (ulong)maxHeader)
                throw new CheckpointFormatException(path, "safetensors header", headerLength > (ulong)Limits.MaxJsonHeaderBytes
                    ? $"the header claims {headerLength} bytes, more than the format's limit of {Limits.MaxJsonHeaderBytes}"
                    : $"the header claims {headerLength} bytes, more than the {maxHeader}-byte limit (Limits.MaxSafetensorsHeaderBytes; the format allows up to {Limits.MaxJsonHeaderBytes}: in PowerShell, [LightningCkpt.Limits]::MaxSafetensorsHeaderBytes = 100000000 reads it)")
                {
                    Kind = CheckpointErrorKind.LimitExceeded,
                };
            if (headerLength > (ulong)(s.Length - 8))
                throw new CheckpointFormatException(path, "safetensors header", $"the header claims {headerLength} bytes but the file has only {s.Length - 8} after the length", 0) { Defect = CheckpointDefect.Truncated };
            var headerBytes = ZipDirectory.ReadExactly(s, 8, (int)headerLength, path, "safetensors header");

            long dataStart = 8 + (long)headerLength;
            long dataLength = s.Length - dataStart;
            metadata = new List<KeyValuePair<string, string>>();
            var root = new PyDict();
            var storages = new List<StorageRef>();
            long claimedEnd = 0;
            string? beyond = null;
            SafetensorsHeader.Parse(headerBytes, path, 8, (name, dtypeName, shape, begin, end) =>
            {
                if (root.ContainsKey(name)) return false;
                var dtype = DType.FromSafetensorsName(dtypeName)
                    ?? throw new CheckpointFormatException(path, "safetensors header", $"entry '{name}' has dtype '{dtypeName}', which this version does not read") { Kind = CheckpointErrorKind.Unsupported };
                if (begin < 0 || end < begin)
                    throw new CheckpointFormatException(path, "safetensors header", $"entry '{name}' claims bytes [{begin}, {end}) of the data area") { Defect = CheckpointDefect.Truncated };
                claimedEnd = Math.Max(claimedEnd, end);
                if (end > dataLength)
                {
                    // a cut-short file: said once the whole header is read, with the size every entry needs
                    beyond ??= $"entry '{name}' claims bytes [{begin}, {end}) but the data area has {dataLength} bytes";
                    return true;
                }
                long numel = TensorSize.Elements(shape, name, path, "safetensors header");
                long bytes = TensorSize.Bytes(dtype, numel, name, shape, path, "safetensors header");
                if (bytes != end - begin)
                    throw new CheckpointFormatException(path, "safetensors header", $"entry '{name}' ({dtype.Name} [{string.Join(", ", shape)}]) needs {bytes} bytes but its range [{begin}, {end}) holds {end - begin}") { Defect = CheckpointDefect.StorageSizeMismatch };
                var storage = new StorageRef(name, dtype, end - begin, "cpu", storages.Count)
                {
                    FileOffset = dataStart + begin,
                    AvailableBytes = end - begin,
                };
                storages.Add(storage);
                var t = new TensorRef(dtype, shape, TorchHost.ContiguousStride(shape), 0, storage);
                t.Validate();
                root.Set(name, t);
                return true;
            }, metadata);
            if (beyond != null)
                throw new CheckpointFormatException(path, "safetensors header", $"{beyond}; {CutShort.Sentence(s.Length, dataStart + claimedEnd, atLeast: false)}") { Defect = CheckpointDefect.Truncated };
            // the ranges tile the data area: sorted by start, each begins where the one before ended
            var ranges = storages.ToArray();
            Array.Sort(ranges, (a, b) => a.FileOffset != b.FileOffset ? a.FileOffset.CompareTo(b.FileOffset) : a.AvailableBytes.CompareTo(b.AvailableBytes));
            long at = 0;
            foreach (var r in ranges)
            {
                long begin = r.FileOffset - dataStart;
                if (begin > at) throw new CheckpointFormatException(path, "safetensors header", $"bytes [{at}, {begin}) of the data area belong to no tensor (a hole before '{r.Key}')") { Defect = CheckpointDefect.MissingStorage };
                if (begin < at) throw new CheckpointFormatException(path, "safetensors header", $"'{r.Key}' overlaps the tensor before it at bytes [{begin}, {at})") { Defect = CheckpointDefect.ViewOutOfBounds };
                at = begin + r.AvailableBytes;
            }
            if (at != dataLength)
                throw new CheckpointFormatException(path, "safetensors header", $"the file has {dataLength - at} bytes after the last tensor that belong to no tensor") { Defect = CheckpointDefect.MissingStorage };
            return new LoadedPickle(root, storages, new GlobalsRecorder(), 0, (long)headerLength);
        }
    }
}
