using System;
using System.IO;

namespace LightningCkpt.Container
{
    /// <summary>Tells the container format from the first bytes of a file, never from its name.</summary>
    public static class FormatSniffer
    {
        // pickle(0x1950a86a20f9469cfc6c): PROTO n, LONG1 10 bytes, then the magic little-endian
        private static readonly byte[] LegacyMagic = { 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19 };

        private static readonly byte[] ProtocolZeroMagic = System.Text.Encoding.ASCII.GetBytes("L119547037146038801333356L");

        /// <summary>The format, or a <see cref="CheckpointFormatException"/> naming what the file is instead.</summary>
        public static CheckpointFormat Detect(Stream s, string path)
        {
            var head = new byte[512];
            s.Position = 0;
            int n = ZipDirectory.ReadFully(s, head, head.Length);
            if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return CheckpointFormat.Zip;
            if (n >= 14 && head[0] == 0x80 && Matches(head, 2, LegacyMagic)) return CheckpointFormat.Legacy;
            if (n >= 23 && head[0] == 0x80 && head[2] == 0x95 && Matches(head, 11, LegacyMagic)) return CheckpointFormat.Legacy; // protocol 4+ frames
            if (n >= ProtocolZeroMagic.Length && Matches(head, 0, ProtocolZeroMagic)) return CheckpointFormat.Legacy; // pickle_protocol 0/1
            if (s.Length >= 512 && n >= 262 && head[257] == 'u' && head[258] == 's' && head[259] == 't' && head[260] == 'a' && head[261] == 'r')
                return CheckpointFormat.Tar;
            throw new CheckpointFormatException(path, "file header", Describe(head, n, s.Length)) { Kind = CheckpointErrorKind.NotACheckpoint };
        }

        private static string Describe(byte[] head, int n, long length)
        {
            if (length == 0) return "the file is empty, not a torch checkpoint";
            if (n >= 8 && System.Text.Encoding.ASCII.GetString(head, 0, 8) == "PYTORCH1")
                return "an archive from the 2018 preview release of torch, which torch itself no longer reads";
            if (n >= 6 && head[0] == 0x93 && System.Text.Encoding.ASCII.GetString(head, 1, 5) == "NUMPY")
                return "a numpy .npy file, not a torch checkpoint";
            if (n >= 4 && head[0] == 'P' && head[1] == 'K')
                return "a zip file whose first entry header is damaged, not a readable torch checkpoint";
            if (n >= 9 && LooksLikeSafetensors(head, n, length))
                return "a safetensors file, not a torch.save checkpoint";
            if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
                return $"a plain Python pickle (protocol {head[1]}) without torch's magic number, not written by torch.save";
            if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) return "a gzip file, not a torch checkpoint";
            if (SavedInsteadOfTheFile(head, n) is string what) return what;
            return $"not a torch checkpoint: unknown header {BitConverter.ToString(head, 0, Math.Min(8, n))}";
        }

        /// <summary>
        /// What a download or a clone left in place of a checkpoint: a Git LFS pointer (with the real file's size), an
        /// HTML page or a JSON document (a server's error page or a login form saved under the checkpoint's name).
        /// </summary>
        private static string? SavedInsteadOfTheFile(byte[] head, int n)
        {
            var text = System.Text.Encoding.UTF8.GetString(head, 0, n).TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
            if (text.StartsWith("version https://git-lfs.github.com/spec/", StringComparison.Ordinal))
            {
                const string sizeKey = "\nsize ";
                int at = text.IndexOf(sizeKey, StringComparison.Ordinal);
                string size = "";
                if (at >= 0)
                {
                    int end = at + sizeKey.Length;
                    while (end < text.Length && char.IsDigit(text[end])) end++;
                    if (long.TryParse(text.Substring(at + sizeKey.Length, end - at - sizeKey.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long bytes))
                        size = $" of a {bytes.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)}-byte file";
                }
                return $"a Git LFS pointer{size}, not the checkpoint itself; fetch the real file (git lfs pull)";
            }
            if (text.StartsWith("<!DOCTYPE html", StringComparison.OrdinalIgnoreCase) || text.StartsWith("<html", StringComparison.OrdinalIgnoreCase))
                return "an HTML page (an error or login page saved under the checkpoint's name?), not a torch checkpoint";
            if (text.StartsWith("{", StringComparison.Ordinal) || text.StartsWith("[", StringComparison.Ordinal))
                return "a JSON document (an error response saved under the checkpoint's name?), not a torch checkpoint";
            return null;
        }

        private static bool LooksLikeSafetensors(byte[] head, int n, long length)
        {
            ulong len = BitConverter.ToUInt64(head, 0);
            return head[8] == '{' && len > 1 && len < (ulong)length;
        }

        private static bool Matches(byte[] b, int at, byte[] pattern)
        {
            for (int i = 0; i < pattern.Length; i++) if (b[at + i] != pattern[i]) return false;
            return true;
        }
    }
}
