using System;
using System.Globalization;
using System.IO;
using System.Text;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Container
{
    /// <summary>
    /// A file that ends before its own records say it should: a download or copy cut short. The readers name the
    /// size the file has and the size it needs, in one wording, so the user fetches it again instead of debugging it.
    /// </summary>
    internal static class CutShort
    {
        /// <summary>"the file has 5,360 bytes but needs 10,720: a download or copy cut short? Fetch or copy it again".</summary>
        public static string Sentence(long actual, long expected, bool atLeast) =>
            string.Format(CultureInfo.InvariantCulture, "the file has {0:N0} bytes but needs {1}{2:N0}: a download or copy cut short? Fetch or copy it again",
                actual, atLeast ? "at least " : "", expected);

        /// <summary>
        /// For a torch zip whose end record is missing: the size its first entry, the pickle, shows it needs (the
        /// pickle's storages each stored in an entry of their own, then the central directory), as a sentence; null
        /// when the file does not start like a torch zip or that size does not exceed the file (nothing is then
        /// claimed). Reads only the pickle at the start of the file, never tensor data.
        /// </summary>
        public static string? TorchZip(Stream s, long length, string path)
        {
            try
            {
                if (length < 30) return null;
                var local = ZipDirectory.ReadExactly(s, 0, 30, path, "zip local header");
                if (ZipDirectory.U32(local, 0) != 0x04034b50 || ZipDirectory.U16(local, 8) != 0) return null; // torch stores its entries
                int nameLength = ZipDirectory.U16(local, 26), extraLength = ZipDirectory.U16(local, 28);
                if (30L + nameLength > length) return null;
                var name = Encoding.UTF8.GetString(ZipDirectory.ReadExactly(s, 30, nameLength, path, "zip local header"));
                int slash = name.IndexOf('/');
                if (slash <= 0 || name.Substring(slash) != "/data.pkl") return null;
                string prefix = name.Substring(0, slash);

                long pickleStart = 30L + nameLength + extraLength;
                var host = new TorchHost(new LegacyCheckpointReader.NoLocator());
                new PickleMachine(host, path, "data.pkl", new GlobalsRecorder()).Load(s, pickleStart, length, out long pickleEnd);

                // lower bounds: a data descriptor (16) after the pickle; per storage a local header and its bytes; per
                // entry a central directory record (46 + name); the end record (22)
                long needed = pickleEnd + 16 + 46 + nameLength + 22;
                int storages = 0;
                foreach (var st in host.Storages)
                {
                    if (st.ViewRoot != null) continue;
                    int entryName = Encoding.UTF8.GetByteCount($"{prefix}/data/{st.Key}");
                    needed += 30 + entryName + st.DeclaredBytes + 46 + entryName;
                    storages++;
                }
                if (needed <= length) return null;
                return $"no end-of-central-directory record; {Sentence(length, needed, atLeast: true)} (the pickle at its start declares {storages} tensor storages)";
            }
            catch (Exception e) when (e is CheckpointFormatException || e is IOException || e is PickleDataException || e is InvalidCastException || e is OverflowException
                || e is ArgumentException || e is InvalidOperationException)
            {
                return null;
            }
        }
    }
}
