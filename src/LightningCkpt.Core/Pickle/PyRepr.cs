using System;
using System.Collections.Generic;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// A short, Python-like text rendering of any unpickled value; cycle-safe and length-capped so hostile
    /// graphs cannot blow up the output. A container reached again (memo sharing) reuses the text it rendered to
    /// the first time (<see cref="GraphMemo{TResult}"/>), so shared sub-graphs cost their text, not a walk per path.
    /// </summary>
    public static class PyRepr
    {
        public static string Render(object? value, int maxLength = 4096)
        {
            var sb = new StringBuilder();
            var active = new Walk();
            Write(sb, value, active, maxLength, 0);
            if (sb.Length > maxLength) { sb.Length = maxLength; sb.Append('…'); }
            return sb.ToString();
        }

        /// <summary>How a dict key becomes a dotted-path segment: text as is, numbers in decimal, classes by name.</summary>
        public static string KeySegment(object? key)
        {
            switch (key)
            {
                case string s: return s;
                case PyGlobal g: return g.FullName;
                case long l: return l.ToString(CultureInfo.InvariantCulture); // Render's spelling, without its builder and cycle set (optimizer state keys)
                default: return Render(key, 256);
            }
        }

        public static string FormatDouble(double d)
        {
            if (double.IsNaN(d)) return "nan";
            if (double.IsPositiveInfinity(d)) return "inf";
            if (double.IsNegativeInfinity(d)) return "-inf";
            var r = d.ToString("R", CultureInfo.InvariantCulture);
            if (r.IndexOfAny(new[] { '.', 'E', 'e' }) < 0) r += ".0";
            return r;
        }

        private static void Write(StringBuilder sb, object? v, Walk active, int max, int depth)
        {
            if (sb.Length > max) return;
            if (depth > 64) { sb.Append("…"); return; }
            switch (v)
            {
                case null: sb.Append("None"); return;
                case bool b: sb.Append(b ? "True" : "False"); return;
                case string s:
                    // only what can still show is escaped: a 100 MB string costs no 100 MB copies
                    if (s.Length > max - sb.Length + 1) s = s.Substring(0, Math.Max(0, max - sb.Length + 1));
                    sb.Append('\'').Append(s.Replace("\\", "\\\\").Replace("'", "\\'").Replace("\n", "\\n")).Append('\''); return;
                case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); return;
                case int i: sb.Append(i.ToString(CultureInfo.InvariantCulture)); return;
                case BigInteger bi: sb.Append(bi.ToString(CultureInfo.InvariantCulture)); return;
                case double d: sb.Append(FormatDouble(d)); return;
                case Complex c: sb.Append('(').Append(FormatDouble(c.Real)).Append(c.Imaginary < 0 ? "" : "+").Append(FormatDouble(c.Imaginary)).Append("j)"); return;
                case byte[] bytes:
                    sb.Append("b'");
                    for (int k = 0; k < bytes.Length && sb.Length <= max; k++)
                    {
                        byte x = bytes[k];
                        if (x >= 0x20 && x < 0x7f && x != (byte)'\'' && x != (byte)'\\') sb.Append((char)x);
                        else sb.Append("\\x").Append(x.ToString("x2"));
                    }
                    sb.Append('\'');
                    return;
                case PyGlobal g: sb.Append(g.FullName); return;
                case PyPath p: sb.Append(p.Path); return;
            }

            if (active.Memo.TryGet(v!, out var text) && text != null)
            {
                sb.Append(text, 0, Math.Min(text.Length, max + 1 - Math.Min(max + 1, sb.Length)));
                return;
            }
            if (!active.Memo.Enter(v!)) { active.Cuts++; sb.Append("..."); return; }
            int start = sb.Length, cuts = active.Cuts;
            try
            {
                switch (v)
                {
                    case PyTuple t:
                        sb.Append('(');
                        for (int k = 0; k < t.Count; k++) { if (k > 0) sb.Append(", "); Write(sb, t[k], active, max, depth + 1); if (sb.Length > max) break; }
                        if (t.Count == 1) sb.Append(',');
                        sb.Append(')');
                        return;
                    case PySet set:
                        sb.Append(set.IsFrozen ? "frozenset({" : "{");
                        WriteItems(sb, set, active, max, depth);
                        sb.Append(set.IsFrozen ? "})" : "}");
                        return;
                    case PyList list:
                        sb.Append('[');
                        WriteItems(sb, list, active, max, depth);
                        sb.Append(']');
                        return;
                    case PyDict dict:
                        sb.Append('{');
                        int n = 0;
                        foreach (var e in dict)
                        {
                            if (n++ > 0) sb.Append(", ");
                            Write(sb, e.Key, active, max, depth + 1);
                            sb.Append(": ");
                            Write(sb, e.Value, active, max, depth + 1);
                            if (sb.Length > max) break;
                        }
                        sb.Append('}');
                        return;
                    case PyObject o:
                        sb.Append(o.Callable is PyGlobal cg ? cg.FullName : "object");
                        sb.Append('(');
                        int m = 0;
                        foreach (var a in o.Args) { if (m++ > 0) sb.Append(", "); Write(sb, a, active, max, depth + 1); if (sb.Length > max) break; }
                        foreach (var f in o.Fields)
                        {
                            if (m++ > 0) sb.Append(", ");
                            // keys render within this walk: a fresh KeySegment render would escape the cycle check and
                            // the depth cap (an object whose state uses the object itself as a key recursed forever)
                            if (f.Key is string ks) sb.Append(ks);
                            else if (f.Key is PyGlobal kg) sb.Append(kg.FullName);
                            else Write(sb, f.Key, active, max, depth + 1);
                            sb.Append('=');
                            Write(sb, f.Value, active, max, depth + 1);
                            if (sb.Length > max) break;
                        }
                        sb.Append(')');
                        return;
                    default:
                        sb.Append(v!.ToString());
                        return;
                }
            }
            finally
            {
                // text cut by a cycle (or by the length cap) is not reused: elsewhere it would read differently
                bool whole = active.Cuts == cuts && sb.Length <= max;
                active.Memo.Leave(v!, whole ? sb.ToString(start, sb.Length - start) : null);
            }
        }

        /// <summary>One rendering's memo of finished containers and count of cycle cuts.</summary>
        private sealed class Walk
        {
            public readonly GraphMemo<string?> Memo = new GraphMemo<string?>();
            public int Cuts;
        }

        private static void WriteItems(StringBuilder sb, IList<object?> items, Walk active, int max, int depth)
        {
            for (int k = 0; k < items.Count; k++)
            {
                if (k > 0) sb.Append(", ");
                Write(sb, items[k], active, max, depth + 1);
                if (sb.Length > max) break;
            }
        }
    }

    /// <summary>Identity comparison for cycle detection.</summary>
    internal sealed class ReferenceComparer : IEqualityComparer<object>
    {
        public static readonly ReferenceComparer Instance = new ReferenceComparer();
        public new bool Equals(object x, object y) => ReferenceEquals(x, y);
        public int GetHashCode(object obj) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
    }
}
