using System.Globalization;
using System.Text.RegularExpressions;

namespace LightningCkpt.Lightning
{
    /// <summary>Reads Lightning's run layout from a path: lightning_logs/version_N/checkpoints/….</summary>
    public static class RunLocation
    {
        private static readonly Regex VersionFolder = new Regex(@"(?:^|[\\/])version_(\d+)(?:[\\/]|$)", RegexOptions.CultureInvariant);

        /// <summary>N from the nearest version_N folder above the file, or null.</summary>
        public static int? RunVersion(string path)
        {
            var matches = VersionFolder.Matches(path);
            if (matches.Count == 0) return null;
            var m = matches[matches.Count - 1];
            return int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : (int?)null;
        }
    }
}
