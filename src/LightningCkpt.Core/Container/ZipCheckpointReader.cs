using System;
using System.IO;
using System.Text;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Container
{
    /// <summary>Reads the zip format: central directory, byteorder record and data.pkl; storages map to data/&lt;key&gt;.</summary>
    internal static class ZipCheckpointReader
    {
        public static LoadedPickle Load(Stream s, string path)
        {
            var zip = ZipDirectory.Read(s, path);
            if (zip.Entries.Count == 0) throw NotCheckpoint(path, "the zip archive is empty, not a torch checkpoint");
            if (zip.Find("constants.pkl") != null)
                throw NotCheckpoint(path, "a TorchScript archive (torch.jit.save), not a torch.save checkpoint; torch opens it with torch.jit.load");
            var pkl = zip.Find("data.pkl")
                ?? throw NotCheckpoint(path, $"the zip archive has no data.pkl under its root folder '{zip.RootPrefix}', so it is not a torch checkpoint");

            bool bigEndian = false;
            if (zip.Find("byteorder") is { } bo)
            {
                var text = Encoding.ASCII.GetString(zip.ReadAll(s, bo, 64)).Trim();
                if (text == "big") bigEndian = true;
                else if (text != "little")
                    throw new CheckpointFormatException(path, $"entry '{bo.Name}'", $"byteorder record says '{text}', expected 'little' or 'big'");
            }

            var host = new TorchHost(new Locator(zip, bigEndian), zip.Entries.Count);
            var machine = new PickleMachine(host, path, $"entry '{pkl.Name}'");
            // a deflated data.pkl is judged by what the file holds: its inflated size and every pickle limit follow
            // the compressed bytes (torch itself always stores data.pkl uncompressed)
            long maxPickle = Limits.MaxPickleBytes;
            if (pkl.IsDeflated)
            {
                maxPickle = Math.Min(maxPickle, Math.Max(Limits.PickleInflationFloor, pkl.CompressedSize * Limits.MaxPickleInflation));
                if (pkl.UncompressedSize > maxPickle)
                    throw new CheckpointFormatException(path, $"entry '{pkl.Name}'",
                        $"the deflated pickle claims {pkl.UncompressedSize} bytes from {pkl.CompressedSize}: more than {Limits.MaxPickleInflation} times its compressed size (Limits.MaxPickleInflation)")
                    { Kind = CheckpointErrorKind.LimitExceeded };
            }
            object? root;
            if (pkl.IsStored && pkl.UncompressedSize > Limits.StreamedPickleBytes && pkl.UncompressedSize <= maxPickle)
            {
                // a large stored pickle is run from the file through a small buffer rather than read whole, so what
                // it costs is the graph it builds (capped by Limits.MaxPickleCost), not also a copy of its bytes
                zip.LocateOne(s, pkl);
                root = machine.Load(s, pkl.DataOffset, pkl.DataOffset + pkl.UncompressedSize, out _);
            }
            else root = machine.Load(zip.ReadAll(s, pkl, maxPickle), pkl.IsDeflated ? pkl.CompressedSize : pkl.UncompressedSize);
            return new LoadedPickle(root, host.Storages, machine.Globals, machine.Protocol, pkl.UncompressedSize) { Zip = zip, IsBigEndian = bigEndian };
        }

        private static CheckpointFormatException NotCheckpoint(string path, string reason) =>
            new CheckpointFormatException(path, "zip archive", reason) { Kind = CheckpointErrorKind.NotACheckpoint };

        private sealed class Locator : IStorageLocator
        {
            private readonly ZipDirectory _zip;
            private readonly bool _bigEndian;

            public Locator(ZipDirectory zip, bool bigEndian)
            {
                _zip = zip;
                _bigEndian = bigEndian;
            }

            public void Locate(StorageRef storage)
            {
                var entry = _zip.Find("data/", storage.Key)
                    ?? throw new PickleDataException($"storage '{storage.Key}' has no entry '{_zip.RootPrefix}data/{storage.Key}' in the archive", CheckpointDefect.MissingStorage);
                if (storage.DeclaredBytes > entry.UncompressedSize)
                    throw new PickleDataException($"storage '{storage.Key}' declares {storage.DeclaredBytes} bytes but its entry holds {entry.UncompressedSize}", CheckpointDefect.StorageSizeMismatch);
                storage.Entry = entry;
                storage.AvailableBytes = entry.UncompressedSize;
                // FileOffset follows the entry: its local header is read when the data is first needed
                storage.IsBigEndian = _bigEndian;
            }

            public object? LoadByKey(string key) => null;
        }
    }
}
