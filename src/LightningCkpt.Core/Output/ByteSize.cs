using System;
using System.Globalization;

namespace LightningCkpt
{
    /// <summary>File and tensor sizes as people read them: 812 B, 9.9 KB, 1.3 GB (binary units, as Windows shows them).</summary>
    public static class ByteSize
    {
        private static readonly string[] Units = { "B", "KB", "MB", "GB", "TB", "PB" };

        public static string Format(long bytes)
        {
            if (bytes < 1024) return bytes.ToString(CultureInfo.InvariantCulture) + " B";
            double v = bytes;
            int unit = 0;
            while (v >= 1024 && unit < Units.Length - 1) { v /= 1024; unit++; }
            // one decimal below 100 (1.0 MB beside 1.1 MB, never 1 MB), whole numbers from 100: 9.9 KB, 10.5 KB, 123 MB
            var text = v < 100 ? Math.Round(v, 1).ToString("0.0", CultureInfo.InvariantCulture) : Math.Round(v).ToString("0", CultureInfo.InvariantCulture);
            if (text == "100.0") text = "100";
            if (text == "1024" && unit < Units.Length - 1) { text = "1.0"; unit++; }
            return text + " " + Units[unit];
        }
    }
}
