using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Container
{
    /// <summary>
    /// Reads torch's oldest format (≤ 0.1.x): a tar whose 'storages' member holds the raw storages, whose
    /// 'tensors' member holds tensor geometry, and whose 'pickle' member is the object with string persistent ids.
    /// </summary>
    internal static class TarCheckpointReader
    {
        public static LoadedPickle Load(Stream s, string path)
        {
            var members = ReadMembers(s, path);
            foreach (var required in new[] { "storages", "tensors", "pickle" })
                if (!members.ContainsKey(required))
                    throw new CheckpointFormatException(path, "tar archive", $"the tar has no '{required}' member, so it is not a complete torch checkpoint");

            var globals = new GlobalsRecorder();
            var objects = new Dictionary<string, object?>(StringComparer.Ordinal);
            var host = new TorchHost(new KeyedLocator(objects));

            var (sStart, sLen) = members["storages"];
            long pos = sStart, end = sStart + sLen;
            var count = AsLong(new PickleMachine(host, path, "tar storages", globals).Load(s, pos, end, out pos), path, "storage count");
            var header = new byte[8];
            for (long i = 0; i < count; i++)
            {
                if (new PickleMachine(host, path, "tar storages", globals).Load(s, pos, end, out pos) is not PyTuple t || t.Count != 3 || t[2] is not TorchStorageType type)
                    throw Bad(path, "tar storages", $"storage record {i} is not (key, location, storage_type)", pos);
                var key = KeyText(t[0]);
                var dtype = type.DType ?? DType.UInt8;
                long numel = ReadInt64(s, ref pos, end, path, header);
                if (numel < 0) throw Bad(path, $"storage '{key}'", $"negative size {numel}", pos);
                long bytes = TensorSize.Bytes(dtype, numel, $"storage {key}", new[] { numel }, path, "tar storages");
                if (bytes > end - pos) throw Bad(path, $"storage '{key}'", $"{bytes} bytes run past the end of the member", pos, CheckpointDefect.Truncated);
                var storage = host.RegisterStorage(key, dtype, bytes, t[1] as string ?? "cpu");
                storage.FileOffset = pos;
                storage.AvailableBytes = bytes;
                objects[key] = new StorageValue(storage, dtype);
                pos += bytes;
            }
            if (new PickleMachine(host, path, "tar storages", globals).Load(s, pos, end, out pos) is PyList views)
            {
                foreach (var v in views)
                {
                    if (v is not PyTuple vt || vt.Count != 4 || !objects.TryGetValue(KeyText(vt[1]), out var rootObj) || rootObj is not StorageValue rootStorage)
                        throw Bad(path, "tar storages", "a storage view names an unknown root storage");
                    long off = AsLong(vt[2], path, "view offset"), n = AsLong(vt[3], path, "view size");
                    int item = rootStorage.DType.ItemSize;
                    if (off < 0 || n < 0 || checked((off + n) * item) > rootStorage.Storage.DeclaredBytes) throw Bad(path, "tar storages", "a storage view lies outside its root");
                    var view = host.RegisterView(KeyText(vt[0]), rootStorage.Storage, off * item, n * item);
                    view.FileOffset = rootStorage.Storage.FileOffset + off * item;
                    view.AvailableBytes = n * item;
                    objects[KeyText(vt[0])] = new StorageValue(view, rootStorage.DType);
                }
            }

            var (tStart, tLen) = members["tensors"];
            pos = tStart;
            end = tStart + tLen;
            var tensorCount = AsLong(new PickleMachine(host, path, "tar tensors", globals).Load(s, pos, end, out pos), path, "tensor count");
            for (long i = 0; i < tensorCount; i++)
            {
                if (new PickleMachine(host, path, "tar tensors", globals).Load(s, pos, end, out pos) is not PyTuple t || t.Count < 2)
                    throw Bad(path, "tar tensors", $"tensor record {i} is not (key, storage_id, type)", pos);
                if (!objects.TryGetValue(KeyText(t[1]), out var so) || so is not StorageValue sv)
                    throw Bad(path, "tar tensors", $"tensor record {i} names an unknown storage");
                long ndim = ReadInt64(s, ref pos, end, path, header) & 0xffffffffL; // int32 ndim then 4 pad bytes
                if (ndim > Limits.MaxTensorDims) throw Bad(path, "tar tensors", $"tensor record {i} has {ndim} dimensions");
                var shape = new long[ndim];
                var stride = new long[ndim];
                for (int d = 0; d < ndim; d++) shape[d] = ReadInt64(s, ref pos, end, path, header);
                for (int d = 0; d < ndim; d++) stride[d] = ReadInt64(s, ref pos, end, path, header);
                long offset = ReadInt64(s, ref pos, end, path, header);
                var tensor = new TensorRef(sv.DType, shape, stride, offset, sv.Storage) { Device = sv.Storage.Location };
                try { tensor.Validate(); }
                catch (PickleDataException e) { throw Bad(path, "tar tensors", e.Message); }
                objects[KeyText(t[0])] = tensor;
            }

            var (pStart, pLen) = members["pickle"];
            var main = new PickleMachine(host, path, "tar pickle", globals);
            var root = main.Load(s, pStart, pStart + pLen, out _);
            return new LoadedPickle(root, host.Storages, globals, main.Protocol, pLen);
        }

        private static Dictionary<string, (long, long)> ReadMembers(Stream s, string path)
        {
            var members = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
            long length = s.Length, pos = 0;
            var block = new byte[512];
            int guard = 0;
            while (pos + 512 <= length && guard++ < 10_000)
            {
                s.Position = pos;
                if (ZipDirectory.ReadFully(s, block, 512) != 512) break;
                if (block[0] == 0) break;
                var name = Encoding.ASCII.GetString(block, 0, 100).TrimEnd('\0', ' ');
                var sizeText = Encoding.ASCII.GetString(block, 124, 12).Trim('\0', ' ');
                if (!long.TryParse(sizeText.Length == 0 ? "0" : sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                    throw Bad(path, "tar archive", $"member '{name}' has a malformed size field", pos);
                long size = 0;
                foreach (char c in sizeText)
                {
                    if (c < '0' || c > '7') throw Bad(path, "tar archive", $"member '{name}' has a malformed size field", pos);
                    size = checked(size * 8 + (c - '0'));
                }
                long data = pos + 512;
                if (size > length - data) throw Bad(path, "tar archive", $"member '{name}' of {size} bytes runs past the end of the file", pos, CheckpointDefect.Truncated);
                members[name] = (data, size);
                pos = data + (size + 511) / 512 * 512;
            }
            return members;
        }

        private static long ReadInt64(Stream s, ref long pos, long end, string path, byte[] buf)
        {
            if (pos > end - 8) throw Bad(path, "tar archive", "unexpected end of member", pos, CheckpointDefect.Truncated);
            s.Position = pos;
            if (ZipDirectory.ReadFully(s, buf, 8) != 8) throw Bad(path, "tar archive", "unexpected end of file", pos, CheckpointDefect.Truncated);
            pos += 8;
            return BitConverter.ToInt64(buf, 0);
        }

        private static string KeyText(object? k) => k switch
        {
            string str => str,
            long l => l.ToString(CultureInfo.InvariantCulture),
            _ => PyRepr.Render(k, 60),
        };

        private static long AsLong(object? v, string path, string what) =>
            v is long l && l >= 0 ? l : throw Bad(path, "tar archive", $"{what} is not a non-negative int");

        private static CheckpointFormatException Bad(string path, string part, string reason, long offset = -1, CheckpointDefect defect = CheckpointDefect.None) =>
            new CheckpointFormatException(path, part, reason, offset) { Defect = defect };

        private sealed class KeyedLocator : IStorageLocator
        {
            private readonly Dictionary<string, object?> _objects;
            public KeyedLocator(Dictionary<string, object?> objects) => _objects = objects;
            public void Locate(StorageRef storage) { }
            public object? LoadByKey(string key) => _objects.TryGetValue(key, out var o) ? o : null;
        }
    }
}
