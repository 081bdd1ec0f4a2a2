using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using LightningCkpt.Pickle;

namespace LightningCkpt.Lightning
{
    /// <summary>
    /// Text and equality of values as <see cref="HyperParameterRenderer"/> returns them (dictionaries, arrays, scalars).
    /// The renderer reuses one rendering wherever the pickle shared a container, so its output is a graph with shared
    /// parts: 60 lists each holding the next twice have 2^60 paths. Text is written into one builder capped at
    /// <see cref="Limits.MaxValueTextLength"/> characters, and every container writes at least one character, so the
    /// walk stops soon after the cap whatever the number of paths; equality compares structure once per pair of
    /// containers (a memo of the pairs already compared), so it is linear in the distinct containers.
    /// </summary>
    public static class RenderedValue
    {
        /// <summary>"k=v; k2=[1, 2]" with Python floats (1.0): how a hyper-parameter dictionary prints in the shell.</summary>
        public static string ParameterText(object? value)
        {
            var sb = new StringBuilder();
            Write(sb, value, parameters: true, depth: 0);
            return Capped(sb);
        }

        /// <summary>"{'k': v}"-like text with round-trip numbers (1 for 1.0): how Compare-Ckpt shows a metadata value.</summary>
        public static string? LiteralText(object? value)
        {
            if (value == null) return null;
            var sb = new StringBuilder();
            Write(sb, value, parameters: false, depth: 0);
            return Capped(sb);
        }

        /// <summary>
        /// Whether two rendered values are the same: containers by structure, scalars by their text (so 1 and 1.0 are
        /// equal, as their metadata rows print alike).
        /// </summary>
        public static bool Equal(object? a, object? b) => Equal(a, b, new HashSet<(object, object)>(PairComparer.Instance), 0);

        private static string Capped(StringBuilder sb)
        {
            if (sb.Length <= Limits.MaxValueTextLength) return sb.ToString();
            sb.Length = Limits.MaxValueTextLength;
            return sb.Append('…').ToString();
        }

        private static string? Scalar(object v, bool parameters)
        {
            switch (v)
            {
                case string s: return s;
                case bool b: return b ? "True" : "False";
                case double d: return parameters ? PyRepr.FormatDouble(d) : d.ToString("R", CultureInfo.InvariantCulture);
                case float f: return parameters ? PyRepr.FormatDouble(f) : ((double)f).ToString("R", CultureInfo.InvariantCulture);
                case IFormattable f: return f.ToString(null, CultureInfo.InvariantCulture);
                case IDictionary _: return null;
                case IEnumerable _: return null;
                default: return v.ToString() ?? "";
            }
        }

        private static void Write(StringBuilder sb, object? v, bool parameters, int depth)
        {
            if (sb.Length > Limits.MaxValueTextLength) return;
            if (v == null) { sb.Append("None"); return; }
            var scalar = Scalar(v, parameters);
            if (scalar != null)
            {
                int room = Limits.MaxValueTextLength + 1 - sb.Length;
                sb.Append(scalar, 0, System.Math.Min(scalar.Length, room));
                return;
            }
            if (depth >= Limits.MaxWalkDepth) { sb.Append('…'); return; }
            if (v is IDictionary dict)
            {
                // a nested parameter dictionary prints as its own "k=v; …" text; a literal one in braces
                if (!parameters) sb.Append('{');
                bool first = true;
                foreach (DictionaryEntry e in dict)
                {
                    if (!first) sb.Append(parameters ? "; " : ", ");
                    first = false;
                    Write(sb, e.Key, parameters, depth + 1);
                    sb.Append(parameters ? "=" : ": ");
                    Write(sb, e.Value, parameters, depth + 1);
                    if (sb.Length > Limits.MaxValueTextLength) return;
                }
                if (!parameters) sb.Append('}');
                return;
            }
            sb.Append('[');
            bool firstItem = true;
            foreach (var x in (IEnumerable)v)
            {
                if (!firstItem) sb.Append(", ");
                firstItem = false;
                Write(sb, x, parameters, depth + 1);
                if (sb.Length > Limits.MaxValueTextLength) return;
            }
            sb.Append(']');
        }

        private static bool Equal(object? a, object? b, HashSet<(object, object)> compared, int depth)
        {
            if (ReferenceEquals(a, b)) return true;
            if (a == null || b == null) return false;
            var sa = Scalar(a, false);
            var sb = Scalar(b, false);
            if (sa != null || sb != null) return sa != null && sb != null && sa == sb;
            if (depth >= Limits.MaxWalkDepth) return false;
            // a pair already compared (or being compared) is not compared again: the first comparison decides
            if (!compared.Add((a, b))) return true;
            if (a is IDictionary da && b is IDictionary db)
            {
                if (da.Count != db.Count) return false;
                var ea = da.GetEnumerator();
                var eb = db.GetEnumerator();
                while (ea.MoveNext() && eb.MoveNext())
                    if (!Equal(ea.Key, eb.Key, compared, depth + 1) || !Equal(ea.Value, eb.Value, compared, depth + 1)) return false;
                return true;
            }
            if (a is IDictionary || b is IDictionary) return false;
            var ia = ((IEnumerable)a).GetEnumerator();
            var ib = ((IEnumerable)b).GetEnumerator();
            while (true)
            {
                bool ma = ia.MoveNext(), mb = ib.MoveNext();
                if (ma != mb) return false;
                if (!ma) return true;
                if (!Equal(ia.Current, ib.Current, compared, depth + 1)) return false;
            }
        }

        private sealed class PairComparer : IEqualityComparer<(object, object)>
        {
            public static readonly PairComparer Instance = new PairComparer();
            public bool Equals((object, object) x, (object, object) y) => ReferenceEquals(x.Item1, y.Item1) && ReferenceEquals(x.Item2, y.Item2);
            public int GetHashCode((object, object) p) =>
                System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(p.Item1) * 31 + System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(p.Item2);
        }
    }
}
