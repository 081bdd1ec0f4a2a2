using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace LightningCkpt.Container
{
    /// <summary>A JSON object with its members in file order (duplicate keys are an error).</summary>
    internal sealed class JsonObject
    {
        private readonly Dictionary<string, object?> _byName = new Dictionary<string, object?>(StringComparer.Ordinal);

        public List<KeyValuePair<string, object?>> Members { get; } = new List<KeyValuePair<string, object?>>();

        public bool TryAdd(string key, object? value)
        {
            if (_byName.ContainsKey(key)) return false;
            _byName.Add(key, value);
            Members.Add(new KeyValuePair<string, object?>(key, value));
            return true;
        }

        public object? this[string key] => _byName.TryGetValue(key, out var v) ? v : null;
        public bool Contains(string key) => _byName.ContainsKey(key);
    }

    /// <summary>
    /// A small, bounded JSON reader for safetensors headers and sharded-checkpoint indexes (Core takes no JSON
    /// library). Objects keep their member order; integers that fit become long, other numbers double; nesting
    /// is capped at <see cref="Limits.MaxJsonDepth"/>. Any syntax error names the file, the part and the offset.
    /// </summary>
    internal sealed class JsonText
    {
        private readonly string _s;
        private readonly string _path;
        private readonly string _part;
        private int _i;

        private JsonText(string text, string path, string part)
        {
            _s = text;
            _path = path;
            _part = part;
        }

        public static object? Parse(string text, string path, string part)
        {
            var p = new JsonText(text, path, part);
            p.SkipSpace();
            var v = p.Value(0);
            p.SkipSpace();
            if (p._i != p._s.Length) throw p.Error("unexpected text after the JSON value");
            return v;
        }

        private CheckpointFormatException Error(string reason) => new CheckpointFormatException(_path, _part, "invalid JSON: " + reason, _i);

        private void SkipSpace()
        {
            while (_i < _s.Length && (_s[_i] == ' ' || _s[_i] == '\t' || _s[_i] == '\n' || _s[_i] == '\r')) _i++;
        }

        private object? Value(int depth)
        {
            if (depth > Limits.MaxJsonDepth) throw new CheckpointFormatException(_path, _part, $"JSON nested deeper than {Limits.MaxJsonDepth} levels", _i) { Kind = CheckpointErrorKind.LimitExceeded };
            if (_i >= _s.Length) throw Error("the text ends where a value should be");
            char c = _s[_i];
            switch (c)
            {
                case '{': return Object(depth);
                case '[': return Array(depth);
                case '"': return String();
                case 't': return Word("true", true);
                case 'f': return Word("false", false);
                case 'n': return Word("null", null);
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return Number();
                    throw Error($"unexpected character '{c}'");
            }
        }

        private object? Word(string word, object? value)
        {
            if (string.CompareOrdinal(_s, _i, word, 0, word.Length) != 0) throw Error($"expected '{word}'");
            _i += word.Length;
            return value;
        }

        private JsonObject Object(int depth)
        {
            var o = new JsonObject();
            _i++;
            SkipSpace();
            if (_i < _s.Length && _s[_i] == '}') { _i++; return o; }
            while (true)
            {
                SkipSpace();
                if (_i >= _s.Length || _s[_i] != '"') throw Error("expected a string key");
                int at = _i;
                var key = String();
                SkipSpace();
                if (_i >= _s.Length || _s[_i] != ':') throw Error("expected ':'");
                _i++;
                SkipSpace();
                var v = Value(depth + 1);
                if (!o.TryAdd(key, v)) { _i = at; throw Error($"duplicate key \"{key}\""); }
                SkipSpace();
                if (_i < _s.Length && _s[_i] == ',') { _i++; continue; }
                if (_i < _s.Length && _s[_i] == '}') { _i++; return o; }
                throw Error("expected ',' or '}'");
            }
        }

        private List<object?> Array(int depth)
        {
            var a = new List<object?>();
            _i++;
            SkipSpace();
            if (_i < _s.Length && _s[_i] == ']') { _i++; return a; }
            while (true)
            {
                SkipSpace();
                a.Add(Value(depth + 1));
                SkipSpace();
                if (_i < _s.Length && _s[_i] == ',') { _i++; continue; }
                if (_i < _s.Length && _s[_i] == ']') { _i++; return a; }
                throw Error("expected ',' or ']'");
            }
        }

        private string String()
        {
            _i++; // opening quote
            var sb = new StringBuilder();
            while (true)
            {
                if (_i >= _s.Length) throw Error("unterminated string");
                char c = _s[_i++];
                if (c == '"') return sb.ToString();
                if (c < 0x20) throw Error("control character in a string");
                if (c != '\\') { sb.Append(c); continue; }
                if (_i >= _s.Length) throw Error("unterminated escape");
                char e = _s[_i++];
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        if (_i + 4 > _s.Length || !ushort.TryParse(_s.Substring(_i, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                            throw Error("bad \\u escape");
                        sb.Append((char)code);
                        _i += 4;
                        break;
                    default: throw Error($"unknown escape '\\{e}'");
                }
            }
        }

        private object Number()
        {
            int start = _i;
            if (_s[_i] == '-') _i++;
            bool integral = true;
            while (_i < _s.Length && ((_s[_i] >= '0' && _s[_i] <= '9') || _s[_i] == '.' || _s[_i] == 'e' || _s[_i] == 'E' || _s[_i] == '+' || _s[_i] == '-'))
            {
                if (_s[_i] == '.' || _s[_i] == 'e' || _s[_i] == 'E') integral = false;
                _i++;
            }
            var text = _s.Substring(start, _i - start);
            if (integral && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return d;
            _i = start;
            throw Error($"bad number '{text}'");
        }
    }
}
