using System;
using System.Collections.Generic;
using System.Globalization;
using LightningCkpt.Pickle;

namespace LightningCkpt.Lightning
{
    /// <summary>One entry of a checkpoint's 'callbacks' dict: its state key, class name, key arguments and state.</summary>
    public sealed class CallbackState
    {
        internal CallbackState(string key, string name, PyDict keyArguments, PyDict? state)
        {
            Key = key;
            Name = name;
            KeyArguments = keyArguments;
            State = state;
        }

        /// <summary>The state key as written, e.g. ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min', …}, or a class name (Lightning 1.0–1.4).</summary>
        public string Key { get; }

        /// <summary>The callback class name: ModelCheckpoint, EarlyStopping, Timer …</summary>
        public string Name { get; }

        /// <summary>The arguments encoded in the state key (Lightning's repr(kwargs) suffix).</summary>
        public PyDict KeyArguments { get; }

        public PyDict? State { get; }

        public override string ToString() => Key;

        internal static CallbackState From(object? key, object? state)
        {
            string text, name;
            var args = new PyDict();
            if (key is PyGlobal g)
            {
                text = g.FullName;
                name = g.Name;
            }
            else
            {
                text = key as string ?? PyRepr.Render(key, 200);
                int brace = text.IndexOf('{');
                name = brace >= 0 ? text.Substring(0, brace) : text;
                if (brace >= 0) args = PythonLiteral.ParseDict(text.Substring(brace)) ?? args;
                int dot = name.LastIndexOf('.');
                if (dot >= 0) name = name.Substring(dot + 1);
            }
            return new CallbackState(text, name, args, state as PyDict);
        }
    }

    /// <summary>Parses the small Python literals Lightning writes into callback state keys.</summary>
    internal static class PythonLiteral
    {
        public static PyDict? ParseDict(string text)
        {
            int i = 0;
            try
            {
                var v = Parse(text, ref i, 0);
                return v as PyDict;
            }
            catch (FormatException) { return null; }
        }

        private static object? Parse(string s, ref int i, int depth)
        {
            if (depth > 32) throw new FormatException();
            Skip(s, ref i);
            if (i >= s.Length) throw new FormatException();
            char c = s[i];
            if (c == '{' || c == '[' || c == '(')
            {
                char close = c == '{' ? '}' : c == '[' ? ']' : ')';
                i++;
                var dict = c == '{' ? new PyDict() : null;
                var list = new PyList();
                while (true)
                {
                    Skip(s, ref i);
                    if (i < s.Length && s[i] == close) { i++; break; }
                    var k = Parse(s, ref i, depth + 1);
                    Skip(s, ref i);
                    if (dict != null)
                    {
                        if (i >= s.Length || s[i] != ':') throw new FormatException();
                        i++;
                        dict.Set(k, Parse(s, ref i, depth + 1));
                    }
                    else list.Add(k);
                    Skip(s, ref i);
                    if (i < s.Length && s[i] == ',') { i++; continue; }
                    if (i < s.Length && s[i] == close) { i++; break; }
                    throw new FormatException();
                }
                return dict ?? (c == '(' ? new PyTuple(list.ToArray()) : (object)list);
            }
            if (c == '\'' || c == '"')
            {
                var sb = new System.Text.StringBuilder();
                i++;
                while (i < s.Length && s[i] != c)
                {
                    if (s[i] == '\\' && i + 1 < s.Length) i++;
                    sb.Append(s[i++]);
                }
                if (i >= s.Length) throw new FormatException();
                i++;
                return sb.ToString();
            }
            int start = i;
            while (i < s.Length && ",:}])".IndexOf(s[i]) < 0) i++;
            var word = s.Substring(start, i - start).Trim();
            switch (word)
            {
                case "None": return null;
                case "True": return true;
                case "False": return false;
            }
            if (long.TryParse(word, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)) return l;
            if (double.TryParse(word, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)) return d;
            return word; // e.g. datetime.timedelta(...) kept as text
        }

        private static void Skip(string s, ref int i)
        {
            while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        }
    }
}
