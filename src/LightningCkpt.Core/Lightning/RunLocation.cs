using System.Globalization;

namespace LightningCkpt.Lightning
{
    /// <summary>Reads Lightning's run layout from a path: lightning_logs/version_N/checkpoints/….</summary>
    public static class RunLocation
    {
        private const string Prefix = "version_";

        /// <summary>N from the nearest version_N folder above the file (or the file itself so named), or null.</summary>
        /// <remarks>
        /// A scan of the path's segments rather than a regular expression: Get-CkptInfo calls this for every file, and
        /// the first call of a session would otherwise build a Regex (parser, interpreter and their JIT) for it.
        /// </remarks>
        public static int? RunVersion(string path)
        {
            int end = path.Length;
            while (end > 0)
            {
                int start = end - 1;
                while (start >= 0 && path[start] != '/' && path[start] != '\\') start--;
                start++; // first character of the segment [start, end)
                if (IsVersionSegment(path, start, end))
                    return int.TryParse(path.Substring(start + Prefix.Length, end - start - Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : (int?)null;
                end = start - 1;
            }
            return null;
        }

        /// <summary>
        /// The run folder's name: the folder holding checkpoints/ (Lightning's lightning_logs/NAME/checkpoints/), else
        /// the folder holding the file; null for a file at the root.
        /// </summary>
        public static string? RunName(string path)
        {
            var folder = System.IO.Path.GetDirectoryName(path);
            if (string.IsNullOrEmpty(folder)) return null;
            var name = System.IO.Path.GetFileName(folder);
            if (name == "checkpoints" && System.IO.Path.GetDirectoryName(folder) is string run && System.IO.Path.GetFileName(run) is string runName && runName.Length > 0)
                return runName;
            return name.Length > 0 ? name : null;
        }

        private static bool IsVersionSegment(string path, int start, int end)
        {
            if (end - start <= Prefix.Length || string.CompareOrdinal(path, start, Prefix, 0, Prefix.Length) != 0) return false;
            for (int i = start + Prefix.Length; i < end; i++)
                if (path[i] < '0' || path[i] > '9') return false;
            return true;
        }
    }
}
