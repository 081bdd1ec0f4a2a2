using System;
using System.Collections.Generic;
using System.Text;

namespace LightningCkpt.Container
{
    /// <summary>
    /// Parses a safetensors JSON header straight from its UTF-8 bytes, one entry at a time: no copy of the header as
    /// text, no general JSON tree. Each tensor entry is handed on as it is read (its name, dtype, shape and range) and
    /// leaves nothing behind but what the caller keeps, so memory and time are proportional to the header with small
    /// constants (a 100 MB header of 1.66 M zero-size tensors or of one metadata string used to cost 1–2.9 GB).
    /// Strings are decoded by a strict UTF-8 decoder; members the format does not define are skipped.
    /// </summary>
    internal sealed class SafetensorsHeader
    {
        /// <summary>
        /// Receives one tensor entry: name, dtype tag ("F32"), shape, and its [begin, end) in the data area; returns
        /// false when the name was seen before (a duplicate key, which the parser refuses at its offset).
        /// </summary>
        public delegate bool TensorEntry(string name, string dtype, long[] shape, long begin, long end);

        private static readonly UTF8Encoding StrictUtf8 = new UTF8Encoding(false, true);
        private static readonly byte[] MetadataKey = Encoding.ASCII.GetBytes("__metadata__");
        private static readonly string[] FieldNames = { "dtype", "shape", "data_offsets" };
        private static readonly byte[] DTypeKey = Encoding.ASCII.GetBytes(FieldNames[0]);
        private static readonly byte[] ShapeKey = Encoding.ASCII.GetBytes(FieldNames[1]);
        private static readonly byte[] OffsetsKey = Encoding.ASCII.GetBytes(FieldNames[2]);

        private readonly byte[] _b;
        private readonly string _path;
        private readonly long _fileOffset;
        private readonly List<long> _numbers = new List<long>();
        private byte[] _scratch = new byte[256];
        private string? _lastDType;
        private EntryFields _entry;
        private Action<int>? _entryMember;
        private int _i;

        private SafetensorsHeader(byte[] header, string path, long fileOffset)
        {
            _b = header;
            _path = path;
            _fileOffset = fileOffset;
        }

        /// <summary>
        /// Reads <paramref name="header"/> (which starts at <paramref name="fileOffset"/> of <paramref name="path"/>,
        /// for the offsets errors name): tensor entries go to <paramref name="tensor"/> in file order, the
        /// <c>__metadata__</c> strings into <paramref name="metadata"/>. Names must be unique.
        /// </summary>
        public static void Parse(byte[] header, string path, long fileOffset, TensorEntry tensor, List<KeyValuePair<string, string>> metadata)
        {
            var p = new SafetensorsHeader(header, path, fileOffset);
            p.Root(tensor, metadata);
        }

        private void Root(TensorEntry tensor, List<KeyValuePair<string, string>> metadata)
        {
            SkipSpace();
            if (Peek() != '{') throw Error("the header is not a JSON object");
            bool sawMetadata = false;
            Members(at =>
            {
                if (IsKey(MetadataKey))
                {
                    if (sawMetadata) { _i = at; throw Error("duplicate key \"__metadata__\""); }
                    sawMetadata = true;
                    Colon();
                    Metadata(metadata);
                    return;
                }
                var name = String();
                Colon();
                if (!Entry(name, tensor)) { _i = at; throw Error($"duplicate key \"{name}\""); }
            });
            SkipSpace();
            if (_i != _b.Length) throw Error("unexpected text after the JSON value");
        }

        /// <summary>
        /// The members of the object at the cursor: <paramref name="member"/> is called with the cursor on each key's
        /// opening quote (its offset as the argument) and must read the key, the colon and the value.
        /// </summary>
        private void Members(Action<int> member)
        {
            _i++; // '{'
            SkipSpace();
            if (Peek() == '}') { _i++; return; }
            while (true)
            {
                SkipSpace();
                if (Peek() != '"') throw Error("expected a string key");
                member(_i);
                SkipSpace();
                if (Peek() == ',') { _i++; continue; }
                Expect((byte)'}', "expected ',' or '}'");
                return;
            }
        }

        private void Metadata(List<KeyValuePair<string, string>> metadata)
        {
            if (Peek() != '{') throw Bad("__metadata__ is not an object of strings");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            Members(at =>
            {
                var key = String();
                if (!seen.Add(key)) { _i = at; throw Error($"duplicate key \"{key}\""); }
                Colon();
                if (Peek() != '"') throw Bad($"__metadata__ value of '{key}' is not a string");
                metadata.Add(new KeyValuePair<string, string>(key, String()));
            });
        }

        private bool Entry(string name, TensorEntry tensor)
        {
            if (Peek() != '{') { SkipValue(1); throw Bad($"entry '{name}' is not an object"); }
            _entry = new EntryFields { Name = name };
            Members(_entryMember ??= EntryMember); // one delegate for all entries: an entry allocates only what it keeps
            var e = _entry;
            if (e.DType == null) throw Bad($"entry '{name}' has no dtype string");
            if (e.Shape == null) throw Bad($"entry '{name}' has no shape list");
            if (e.Offsets == null) throw Bad($"entry '{name}' has no data_offsets list");
            if (e.Offsets.Length != 2) throw Bad($"entry '{name}' has {e.Offsets.Length} data_offsets, expected [begin, end]");
            return tensor(name, e.DType, e.Shape, e.Offsets[0], e.Offsets[1]);
        }

        private void EntryMember(int at)
        {
            // the three fields the format defines, each once (as the reference reader); others are skipped
            int field = IsKey(DTypeKey) ? 0 : IsKey(ShapeKey) ? 1 : IsKey(OffsetsKey) ? 2 : -1;
            if (field < 0) SkipString();
            else if ((_entry.Seen & (1 << field)) != 0) { _i = at; throw Error($"duplicate field \"{FieldNames[field]}\" in entry '{_entry.Name}'"); }
            if (field >= 0) _entry.Seen |= 1 << field;
            Colon();
            switch (field)
            {
                case 0:
                    _entry.DType = Peek() == '"' ? DTypeTag() : null;
                    if (_entry.DType == null) SkipValue(2);
                    break;
                case 1: _entry.Shape = Integers(_entry.Name, FieldNames[1]); break;
                case 2: _entry.Offsets = Integers(_entry.Name, FieldNames[2]); break;
                default: SkipValue(2); break;
            }
        }

        /// <summary>The fields of the entry being read.</summary>
        private struct EntryFields
        {
            public string Name;
            public string? DType;
            public long[]? Shape;
            public long[]? Offsets;
            public int Seen;
        }

        /// <summary>A JSON list of integers (shape, data_offsets); its length is capped by <see cref="Limits.MaxTensorDims"/>.</summary>
        private long[] Integers(string name, string field)
        {
            if (Peek() != '[') { SkipValue(2); throw Bad($"entry '{name}' has no {field} list"); }
            _i++;
            _numbers.Clear();
            SkipSpace();
            if (Peek() == ']') { _i++; return Array.Empty<long>(); }
            while (true)
            {
                SkipSpace();
                if (_numbers.Count >= Limits.MaxTensorDims)
                    throw new CheckpointFormatException(_path, "safetensors header", $"entry '{name}' has more than {Limits.MaxTensorDims} {field} values (limit {Limits.MaxTensorDims} dimensions)", _fileOffset + _i) { Kind = CheckpointErrorKind.LimitExceeded };
                _numbers.Add(Integer(name, field));
                SkipSpace();
                if (Peek() == ',') { _i++; continue; }
                Expect((byte)']', "expected ',' or ']'");
                return _numbers.ToArray();
            }
        }

        private long Integer(string name, string field)
        {
            int start = _i;
            if (Peek() != '-' && (Peek() < '0' || Peek() > '9'))
            {
                SkipValue(3); // a string, list, object or word: valid JSON, but not a number
                throw Bad($"entry '{name}' {field}[{_numbers.Count}] is not an integer");
            }
            SkipValue(3);
            long v = 0;
            bool negative = _b[start] == '-', integral = _i > start + (negative ? 1 : 0);
            for (int k = start + (negative ? 1 : 0); k < _i && integral; k++)
            {
                int d = _b[k] - '0';
                if (d < 0 || d > 9 || v > (long.MaxValue - d) / 10) integral = false;
                else v = v * 10 + d;
            }
            if (!integral) throw Bad($"entry '{name}' {field}[{_numbers.Count}] is not an integer");
            return negative ? -v : v;
        }

        /// <summary>The dtype string; the previous entry's string object when the bytes are the same (most are).</summary>
        private string DTypeTag()
        {
            int start = _i + 1;
            if (_lastDType != null && start + _lastDType.Length < _b.Length && _b[start + _lastDType.Length] == '"')
            {
                bool same = true;
                for (int k = 0; k < _lastDType.Length && same; k++) same = _b[start + k] == _lastDType[k];
                if (same) { _i = start + _lastDType.Length + 1; return _lastDType; }
            }
            return _lastDType = String();
        }

        /// <summary>True (and past the key) when the string at the cursor is exactly <paramref name="key"/> with no escapes.</summary>
        private bool IsKey(byte[] key)
        {
            int end = _i + 1 + key.Length;
            if (end >= _b.Length || _b[end] != '"') return false;
            for (int k = 0; k < key.Length; k++) if (_b[_i + 1 + k] != key[k]) return false;
            _i = end + 1;
            return true;
        }

        /// <summary>A JSON string: decoded from its bytes in place when it has no escapes, else through a scratch buffer.</summary>
        private string String()
        {
            int start = ++_i; // past the opening quote
            while (_i < _b.Length)
            {
                byte c = _b[_i];
                if (c == '"') { _i++; return Decode(_b, start, _i - 1 - start, start); }
                if (c == '\\') return Escaped(start);
                if (c < 0x20) throw Error("control character in a string");
                _i++;
            }
            throw Error("unterminated string");
        }

        private string Escaped(int start)
        {
            int n = 0;
            void Put(byte x)
            {
                if (n == _scratch.Length) Array.Resize(ref _scratch, _scratch.Length * 2);
                _scratch[n++] = x;
            }
            for (int k = start; k < _i; k++) Put(_b[k]);
            while (true)
            {
                if (_i >= _b.Length) throw Error("unterminated string");
                byte c = _b[_i++];
                if (c == '"') return Decode(_scratch, 0, n, start);
                if (c < 0x20) { _i--; throw Error("control character in a string"); }
                if (c != '\\') { Put(c); continue; }
                if (_i >= _b.Length) throw Error("unterminated escape");
                byte e = _b[_i++];
                switch (e)
                {
                    case (byte)'"': Put((byte)'"'); break;
                    case (byte)'\\': Put((byte)'\\'); break;
                    case (byte)'/': Put((byte)'/'); break;
                    case (byte)'b': Put(8); break;
                    case (byte)'f': Put(12); break;
                    case (byte)'n': Put(10); break;
                    case (byte)'r': Put(13); break;
                    case (byte)'t': Put(9); break;
                    case (byte)'u':
                        if (!TryHex4(_i, out int code)) throw Error("bad \\u escape");
                        _i += 4;
                        string text;
                        if (char.IsHighSurrogate((char)code) && _i + 6 <= _b.Length && _b[_i] == '\\' && _b[_i + 1] == 'u'
                            && TryHex4(_i + 2, out int low) && char.IsLowSurrogate((char)low))
                        {
                            text = new string(new[] { (char)code, (char)low });
                            _i += 6;
                        }
                        else if (char.IsSurrogate((char)code)) throw Error("a \\u escape is half of a surrogate pair");
                        else text = ((char)code).ToString();
                        foreach (var x in Encoding.UTF8.GetBytes(text)) Put(x);
                        break;
                    default: _i--; throw Error($"unknown escape '\\{(char)e}'");
                }
            }
        }

        private bool TryHex4(int at, out int code)
        {
            code = 0;
            for (int k = 0; k < 4; k++)
            {
                int h = at + k < _b.Length ? Hex(_b[at + k]) : -1;
                if (h < 0) return false;
                code = code * 16 + h;
            }
            return true;
        }

        private static int Hex(byte c) => c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

        private string Decode(byte[] bytes, int start, int count, int at)
        {
            try { return StrictUtf8.GetString(bytes, start, count); }
            catch (DecoderFallbackException) { throw new CheckpointFormatException(_path, "safetensors header", "the header is not valid UTF-8", _fileOffset + at); }
        }

        /// <summary>Skips any JSON value (a member the format does not define), checking its syntax and nesting.</summary>
        private void SkipValue(int depth)
        {
            if (depth > Limits.MaxJsonDepth) throw new CheckpointFormatException(_path, "safetensors header", $"JSON nested deeper than {Limits.MaxJsonDepth} levels", _fileOffset + _i) { Kind = CheckpointErrorKind.LimitExceeded };
            SkipSpace();
            switch (Peek())
            {
                case (byte)'"': SkipString(); return;
                case (byte)'{':
                    Members(_ =>
                    {
                        SkipString();
                        Colon();
                        SkipValue(depth + 1);
                    });
                    return;
                case (byte)'[':
                    _i++;
                    SkipSpace();
                    if (Peek() == ']') { _i++; return; }
                    while (true)
                    {
                        SkipValue(depth + 1);
                        SkipSpace();
                        if (Peek() == ',') { _i++; continue; }
                        Expect((byte)']', "expected ',' or ']'");
                        return;
                    }
                case (byte)'t': Word("true"); return;
                case (byte)'f': Word("false"); return;
                case (byte)'n': Word("null"); return;
                default:
                    int start = _i;
                    if (Peek() == '-') _i++;
                    while (_i < _b.Length && ((_b[_i] >= '0' && _b[_i] <= '9') || _b[_i] == '.' || _b[_i] == 'e' || _b[_i] == 'E' || _b[_i] == '+' || _b[_i] == '-')) _i++;
                    if (_i == start || (_i == start + 1 && _b[start] == '-')) { _i = start; throw Error(_i < _b.Length ? $"unexpected character '{(char)_b[_i]}'" : "the text ends where a value should be"); }
                    return;
            }
        }

        /// <summary>Skips a string, checking its escapes and UTF-8 without building it.</summary>
        private void SkipString()
        {
            int start = ++_i;
            while (_i < _b.Length)
            {
                byte c = _b[_i];
                if (c == '"')
                {
                    try { StrictUtf8.GetCharCount(_b, start, _i - start); }
                    catch (DecoderFallbackException) { throw new CheckpointFormatException(_path, "safetensors header", "the header is not valid UTF-8", _fileOffset + start); }
                    _i++;
                    return;
                }
                if (c < 0x20) throw Error("control character in a string");
                if (c == '\\')
                {
                    if (_i + 1 >= _b.Length) throw Error("unterminated escape");
                    byte e = _b[_i + 1];
                    if (e == 'u') { if (!TryHex4(_i + 2, out _)) throw Error("bad \\u escape"); _i += 6; continue; }
                    if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't') { _i++; throw Error($"unknown escape '\\{(char)e}'"); }
                    _i += 2;
                    continue;
                }
                _i++;
            }
            throw Error("unterminated string");
        }

        private void Word(string word)
        {
            for (int k = 0; k < word.Length; k++)
                if (_i + k >= _b.Length || _b[_i + k] != word[k]) throw Error($"expected '{word}'");
            _i += word.Length;
        }

        private void Colon()
        {
            SkipSpace();
            Expect((byte)':', "expected ':'");
            SkipSpace();
        }

        private void Expect(byte c, string reason)
        {
            if (Peek() != c) throw Error(reason);
            _i++;
        }

        private int Peek() => _i < _b.Length ? _b[_i] : -1;

        private void SkipSpace()
        {
            while (_i < _b.Length && (_b[_i] == ' ' || _b[_i] == '\t' || _b[_i] == '\n' || _b[_i] == '\r')) _i++;
        }

        private CheckpointFormatException Error(string reason) =>
            new CheckpointFormatException(_path, "safetensors header", "invalid JSON: " + (_i >= _b.Length ? "the text ends early, " : "") + reason, _fileOffset + _i);

        private CheckpointFormatException Bad(string reason) => new CheckpointFormatException(_path, "safetensors header", reason);
    }
}
