using System.Globalization;
using System.Text.RegularExpressions;

namespace LightningCkpt
{
    /// <summary>
    /// Float64 values as views show them: 0.009000000000000001 (a learning rate after a scheduler's multiplications)
    /// reads 0.009. Only the text shown is shortened; the objects keep every digit for sorting and comparing.
    /// </summary>
    public static class ReadableNumber
    {
        /// <summary>Fewest significant digits a view starts from: more than any training log prints.</summary>
        private const int ViewDigits = 8;

        // a decimal with a point or an exponent (an integer is already exact and short)
        private static readonly Regex Decimal = new Regex(@"(?<![\w.])-?\d+(?:\.\d+(?:[eE][-+]?\d+)?|[eE][-+]?\d+)(?![\w.])", RegexOptions.CultureInvariant);

        /// <summary>
        /// <paramref name="value"/> at <see cref="ViewDigits"/> significant digits when that is shorter than its
        /// round-trip form, in invariant culture ("" for null): 0.41000000000000003 → 0.41, 0.49562836 stays.
        /// </summary>
        public static string Format(double? value) => value is double v ? Shorten(v.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e"), ViewDigits) : "";

        /// <summary>
        /// Two texts holding numbers (metadata values, lists of them) with every long decimal shortened, at the
        /// fewest significant digits (from 6) that still tell the two texts apart when they differ.
        /// </summary>
        public static (string Reference, string Difference) Pair(string reference, string difference)
        {
            for (int digits = 6; digits < 17; digits++)
            {
                var a = ShortenAll(reference, digits);
                var b = ShortenAll(difference, digits);
                if (a != b || reference == difference) return (a, b);
            }
            return (reference, difference);
        }

        private static string ShortenAll(string text, int digits) => Decimal.Replace(text, m => Shorten(m.Value, digits));

        // the number at `digits` significant digits, in Python's spelling (1e-05), when that is shorter than the text
        private static string Shorten(string text, int digits)
        {
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || double.IsNaN(v) || double.IsInfinity(v)) return text;
            var shorter = v.ToString("G" + digits, CultureInfo.InvariantCulture).Replace("E", "e");
            return shorter.Length < text.Length ? shorter : text;
        }
    }
}
