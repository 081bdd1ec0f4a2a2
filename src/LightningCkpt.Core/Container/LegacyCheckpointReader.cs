using System;
using System.IO;
using System.Numerics;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Container
{
    /// <summary>
    /// Reads the pre-1.6 format: pickled magic, protocol version, sys_info, the object, the storage key list, then
    /// each storage as an int64 element count followed by its bytes. Storage offsets are computed from the
    /// declared sizes and checked against each 8-byte count; the data itself is not read.
    /// </summary>
    internal static class LegacyCheckpointReader
    {
        private static readonly BigInteger Magic = BigInteger.Parse("119547037146038801333356");

        public static LoadedPickle Load(Stream s, string path)
        {
            long length = s.Length;
            var globals = new GlobalsRecorder();
            var plain = new PythonHost();

            long pos = 0;
            var magic = new PickleMachine(plain, path, "legacy magic pickle", globals).Load(s, pos, length, out pos);
            if (!(magic is BigInteger m && m == Magic))
                throw Bad(path, "legacy magic pickle", "the magic number is wrong");
            var version = new PickleMachine(plain, path, "legacy protocol pickle", globals).Load(s, pos, length, out pos);
            if (version is not long v || v != 1001) throw Bad(path, "legacy protocol pickle", $"protocol version {PyRepr.Render(version, 40)} is not 1001");
            var sysInfo = new PickleMachine(plain, path, "legacy sys_info pickle", globals).Load(s, pos, length, out pos) as PyDict;
            bool bigEndian = sysInfo?.Get("little_endian") is bool le && !le;

            long pickleStart = pos;
            var host = new TorchHost(new NoLocator());
            var main = new PickleMachine(host, path, "legacy main pickle", globals);
            var root = main.Load(s, pos, length, out pos);
            long pickleBytes = pos - pickleStart;
            var keys = new PickleMachine(plain, path, "legacy storage key list", globals).Load(s, pos, length, out pos) as PyList
                ?? throw Bad(path, "legacy storage key list", "is not a list");

            var header = new byte[8];
            // the size the file needs from `from` on: each storage from storage `index` on, an 8-byte count and its bytes
            long Needed(long from, int index)
            {
                long needed = from;
                for (int i = index; i < keys.Count; i++)
                    if (keys[i] is string key && host.FindStorage(key) is { } st) needed += 8 + st.DeclaredBytes;
                return needed;
            }
            int index = -1;
            foreach (var k in keys)
            {
                index++;
                var key = k as string ?? throw Bad(path, "legacy storage key list", $"key {PyRepr.Render(k, 40)} is not a string");
                var storage = host.FindStorage(key) ?? throw Bad(path, $"storage '{key}'", "is listed but never referenced by the pickle", defect: CheckpointDefect.MissingStorage);
                if (pos > length - 8) throw Bad(path, $"storage '{key}'", "the file ends before the storage's size record; " + CutShort.Sentence(length, Needed(pos, index), atLeast: false), pos, CheckpointDefect.Truncated);
                s.Position = pos;
                if (ZipDirectory.ReadFully(s, header, 8) != 8) throw Bad(path, $"storage '{key}'", "unexpected end of file", pos, CheckpointDefect.Truncated);
                if (bigEndian) Array.Reverse(header);
                long count = BitConverter.ToInt64(header, 0);
                long expected = storage.DeclaredBytes / Math.Max(1, storage.DType.ItemSize);
                if (count != expected)
                    throw Bad(path, $"storage '{key}'", $"the file records {count} elements but the pickle declares {expected}", pos, CheckpointDefect.StorageSizeMismatch);
                long start = pos + 8;
                if (storage.DeclaredBytes > length - start)
                    throw Bad(path, $"storage '{key}'", $"{storage.DeclaredBytes} bytes run past the end of the file; " + CutShort.Sentence(length, Needed(pos, index), atLeast: false), start, CheckpointDefect.Truncated);
                storage.FileOffset = start;
                storage.AvailableBytes = storage.DeclaredBytes;
                storage.IsBigEndian = bigEndian;
                pos = start + storage.DeclaredBytes;
            }
            foreach (var st in host.Storages)
            {
                if (st.ViewRoot is { } rootStorage)
                {
                    if (rootStorage.FileOffset < 0) throw Bad(path, $"storage '{rootStorage.Key}'", "is referenced but has no data in the file", defect: CheckpointDefect.MissingStorage);
                    st.FileOffset = rootStorage.FileOffset + st.ViewByteOffset;
                    st.AvailableBytes = st.DeclaredBytes;
                    st.IsBigEndian = bigEndian;
                }
                else if (st.FileOffset < 0 && st.InlineData == null)
                    throw Bad(path, $"storage '{st.Key}'", "is referenced but has no data in the file", defect: CheckpointDefect.MissingStorage);
            }
            return new LoadedPickle(root, host.Storages, globals, main.Protocol, pickleBytes) { IsBigEndian = bigEndian, SysInfo = sysInfo };
        }

        private static CheckpointFormatException Bad(string path, string part, string reason, long offset = -1, CheckpointDefect defect = CheckpointDefect.None) =>
            new CheckpointFormatException(path, part, reason, offset) { Defect = defect };

        internal sealed class NoLocator : IStorageLocator
        {
            public void Locate(StorageRef storage) { } // offsets are known only after the key list
            public object? LoadByKey(string key) => null;
        }
    }
}
