using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Numerics;
using System.Text;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// A non-executing pickle virtual machine for protocols 0–5. It interprets every opcode as data
    /// manipulation; whatever would call code in Python is handed to an <see cref="IPickleHost"/>, which only
    /// builds values. Every global the pickle names is recorded.
    /// </summary>
    public sealed class PickleMachine
    {
        private readonly IPickleHost _host;
        private readonly string _filePath;
        private readonly string _part;
        private readonly GlobalsRecorder _globals;
        private readonly List<object?> _stack = new List<object?>();
        private readonly List<int> _marks = new List<int>();
        private PickleMemo _memo = new PickleMemo(0);
        private int _containers;
        private int _maxContainers = Limits.MaxContainers;
        private int _maxMemo = Limits.MaxMemoEntries;
        private long _cost;
        private long _textCost;
        private long _maxCost = Limits.MaxPickleCostFor(0);

        public PickleMachine(IPickleHost host, string filePath, string part, GlobalsRecorder? globals = null)
        {
            _host = Construction.IsRecording ? new RecordingHost(host) : host;
            _filePath = filePath;
            _part = part;
            _globals = globals ?? new GlobalsRecorder();
        }

        /// <summary>Every global referenced so far, in first-seen order.</summary>
        public GlobalsRecorder Globals => _globals;

        /// <summary>The protocol declared by PROTO (0 when absent).</summary>
        public int Protocol { get; private set; }

        /// <summary>Runs a whole in-memory pickle.</summary>
        public object? Load(byte[] data) => Load(new PickleSource(data));

        /// <summary>
        /// Runs a whole in-memory pickle that came from <paramref name="fileBytes"/> bytes of the file (a deflated
        /// entry's compressed size): every limit follows what the file holds, not what it inflates to.
        /// </summary>
        public object? Load(byte[] data, long fileBytes) => Load(new PickleSource(data), fileBytes);

        /// <summary>
        /// Objects (text and byte strings aside) one load may build, in estimated bytes: <see cref="Limits.MaxPickleCost"/>
        /// unless the caller knows the pickle describes more data (a DCP folder's metadata, see
        /// <see cref="Limits.MaxDcpMetadataCostFor"/>).
        /// </summary>
        public long MaxObjectCost { get; set; } = Limits.MaxPickleCost;

        /// <summary>Estimated bytes of memory the last load built (see <see cref="Limits.MaxPickleCostFor"/>).</summary>
        public long EstimatedCost => _cost;

        /// <summary>The part of <see cref="EstimatedCost"/> spent on objects (text and byte strings aside), what <see cref="MaxObjectCost"/> bounds.</summary>
        public long ObjectCost => _cost - _textCost;

        /// <summary>Runs one pickle from <paramref name="start"/>; <paramref name="endPosition"/> is where STOP left off.</summary>
        public object? Load(Stream stream, long start, long end, out long endPosition)
        {
            var src = new PickleSource(stream, start, end);
            var value = Load(src);
            endPosition = src.Position;
            return value;
        }

        internal object? Load(PickleSource src, long fileBytes = -1)
        {
            if (fileBytes < 0) fileBytes = src.Remaining;
            _stack.Clear();
            _marks.Clear();
            _containers = 0;
            _cost = 0;
            _textCost = 0;
            _maxContainers = Limits.MaxContainersFor(fileBytes);
            _maxMemo = Limits.MaxMemoEntriesFor(fileBytes);
            if (MaxObjectCost > Limits.MaxPickleCost)
            {
                // a larger object allowance carries its objects' count and memo entries with it
                int scaled = (int)Math.Min(Limits.MaxObjectsCeiling, MaxObjectCost / Limits.CostPerContainer);
                _maxContainers = Math.Max(_maxContainers, scaled);
                _maxMemo = Math.Max(_maxMemo, scaled);
            }
            _maxCost = Limits.MaxPickleCostFor(fileBytes);
            _memo = new PickleMemo(_maxMemo);
            long opOffset = 0;
            PickleOpcode op = 0;
            try
            {
                while (true)
                {
                    opOffset = src.Position - src.Start;
                    int b = src.ReadByte();
                    if (b < 0) throw new PickleDataException("the pickle ends without a STOP opcode", CheckpointDefect.Truncated);
                    op = (PickleOpcode)b;
                    if (op == PickleOpcode.Stop)
                    {
                        if (_stack.Count == 0) throw new PickleDataException("STOP with an empty stack");
                        return _stack[_stack.Count - 1];
                    }
                    Step(op, src);
                }
            }
            catch (PickleDataException e)
            {
                throw new CheckpointFormatException(_filePath, _part, $"opcode {Describe(op)}: {e.Message}", opOffset, e) { Kind = e.Kind, Defect = e.Defect };
            }
            catch (CheckpointFormatException) { throw; }
            catch (Exception e) when (e is InvalidCastException || e is ArgumentException || e is IndexOutOfRangeException ||
                                      e is FormatException || e is OverflowException || e is InvalidOperationException || e is DecoderFallbackException)
            {
                throw new CheckpointFormatException(_filePath, _part, $"opcode {Describe(op)}: {e.Message}", opOffset, e);
            }
        }

        private static string Describe(PickleOpcode op) =>
            Enum.IsDefined(typeof(PickleOpcode), op) ? $"{op.ToString().ToUpperInvariant()} (0x{(byte)op:x2})" : $"0x{(byte)op:x2}";

        private void Step(PickleOpcode op, PickleSource src)
        {
            switch (op)
            {
                case PickleOpcode.Proto:
                    Protocol = src.ReadByte();
                    if (Protocol < 0 || Protocol > 5) throw new PickleDataException($"unsupported pickle protocol {Protocol}");
                    break;
                case PickleOpcode.Frame:
                    {
                        long n = ReadInt64(src);
                        if (n < 0 || n > src.Remaining) throw new PickleDataException($"frame of {n} bytes runs past the end of the data", CheckpointDefect.Truncated);
                        break;
                    }
                case PickleOpcode.Mark:
                    if (_marks.Count >= Limits.MaxMarkDepth) throw new PickleDataException($"more than {Limits.MaxMarkDepth} nested MARKs (Limits.MaxMarkDepth)", CheckpointErrorKind.LimitExceeded);
                    _marks.Add(_stack.Count);
                    break;
                case PickleOpcode.Pop:
                    if (_marks.Count > 0 && _marks[_marks.Count - 1] == _stack.Count) PopMark(); // Python pops the mark in this case
                    else Pop();
                    break;
                case PickleOpcode.PopMark: PopMark(); break;
                case PickleOpcode.Dup: Push(Peek()); break;

                case PickleOpcode.None: Push(null); break;
                case PickleOpcode.NewTrue: Push(true); break;
                case PickleOpcode.NewFalse: Push(false); break;
                case PickleOpcode.Int: PushNew(ParseIntLine(src.ReadLine())); break;
                case PickleOpcode.Long: PushNew(ParseLongLine(src.ReadLine())); break;
                case PickleOpcode.BinInt: PushNew(BoxedInt((int)(uint)src.ReadLittleEndian(4))); break;
                case PickleOpcode.BinInt1: PushNew(BoxedInt(ReadU8(src))); break;
                case PickleOpcode.BinInt2: PushNew(BoxedInt((long)src.ReadLittleEndian(2))); break;
                case PickleOpcode.Long1: PushNew(DecodeLong(src.ReadBytes(ReadU8(src)))); break;
                case PickleOpcode.Long4:
                    {
                        int n = BitConverter.ToInt32(Le(src.ReadBytes(4)), 0);
                        if (n < 0) throw new PickleDataException("LONG4 with a negative length");
                        if (n > Limits.MaxLongBytes) throw new PickleDataException($"LONG4 of {n} bytes exceeds the {Limits.MaxLongBytes}-byte limit", CheckpointErrorKind.LimitExceeded);
                        PushNew(DecodeLong(src.ReadBytes(n)));
                        break;
                    }
                case PickleOpcode.Float:
                    PushNew(double.Parse(src.ReadLine(), NumberStyles.Float, CultureInfo.InvariantCulture));
                    break;
                case PickleOpcode.BinFloat:
                    {
                        ulong bits = 0; // big-endian on the wire
                        for (int i = 0; i < 8; i++) bits = (bits << 8) | (uint)ReadU8(src);
                        PushNew(BitConverter.Int64BitsToDouble((long)bits));
                        break;
                    }

                case PickleOpcode.String: PushNew(DecodeByteString(UnquoteProtocol0(src.ReadLine()))); break;
                case PickleOpcode.BinString:
                    {
                        int n = BitConverter.ToInt32(Le(src.ReadBytes(4)), 0);
                        PushNew(DecodeByteString(src.ReadBytes(n)));
                        break;
                    }
                case PickleOpcode.ShortBinString: PushNew(DecodeByteString(src.ReadBytes(ReadU8(src)))); break;
                case PickleOpcode.Unicode: PushNew(DecodeRawUnicodeEscape(src.ReadLine())); break;
                case PickleOpcode.BinUnicode: PushNew(Utf8(src, (long)src.ReadLittleEndian(4))); break;
                case PickleOpcode.ShortBinUnicode: PushNew(Utf8(src, ReadU8(src))); break;
                case PickleOpcode.BinUnicode8: PushNew(Utf8(src, ReadInt64(src))); break;
                case PickleOpcode.BinBytes: PushNew(src.ReadBytes((long)src.ReadLittleEndian(4))); break;
                case PickleOpcode.ShortBinBytes: PushNew(src.ReadBytes(ReadU8(src))); break;
                case PickleOpcode.BinBytes8: PushNew(src.ReadBytes(ReadInt64(src))); break;
                case PickleOpcode.ByteArray8: PushNew(Construction.MarkByteArray(src.ReadBytes(ReadInt64(src)))); break;
                case PickleOpcode.NextBuffer: throw new PickleDataException("the pickle refers to an out-of-band buffer, which a checkpoint file cannot carry");
                case PickleOpcode.ReadOnlyBuffer: Peek(); break;

                case PickleOpcode.EmptyTuple: Push(PyTuple.Empty); break;
                case PickleOpcode.Tuple: Push(NewTuple(PopToMark())); break;
                case PickleOpcode.Tuple1: { var a = Pop(); Push(NewTuple(new[] { a })); break; }
                case PickleOpcode.Tuple2: { var b2 = Pop(); var a = Pop(); Push(NewTuple(new[] { a, b2 })); break; }
                case PickleOpcode.Tuple3: { var c = Pop(); var b2 = Pop(); var a = Pop(); Push(NewTuple(new[] { a, b2, c })); break; }
                case PickleOpcode.EmptyList: Push(Count(new PyList())); break;
                case PickleOpcode.List: { var items = PopToMark(); Spend(Limits.CostPerItem * items.Length); Push(Count(new PyList(items))); break; }
                case PickleOpcode.EmptyDict: Push(Count(new PyDict())); break;
                case PickleOpcode.Dict:
                    {
                        var items = PopToMark();
                        if (items.Length % 2 != 0) throw new PickleDataException("DICT with an odd number of items");
                        Spend(Limits.CostPerDictEntry * (items.Length / 2));
                        var d = Count(new PyDict());
                        for (int i = 0; i < items.Length; i += 2) d.Set(items[i], items[i + 1]);
                        Push(d);
                        break;
                    }
                case PickleOpcode.EmptySet: Push(Count(new PySet(frozen: false))); break;
                case PickleOpcode.FrozenSet:
                    {
                        var fs = Count(new PySet(frozen: true));
                        var members = PopToMark();
                        Spend(Limits.CostPerDictEntry * members.Length);
                        foreach (var item in members) fs.AddItem(item);
                        Push(fs);
                        break;
                    }
                case PickleOpcode.Append: { var v = Pop(); AppendTo(Peek(), new[] { v }); break; }
                case PickleOpcode.Appends: { var items = PopToMark(); AppendTo(Peek(), items); break; }
                case PickleOpcode.AddItems:
                    {
                        var items = PopToMark();
                        if (Peek() is not PySet set) throw new PickleDataException($"ADDITEMS on {TypeName(Peek())}, not a set");
                        Spend(Limits.CostPerDictEntry * items.Length);
                        foreach (var item in items) set.AddItem(item);
                        break;
                    }
                case PickleOpcode.SetItem: { var v = Pop(); var k = Pop(); SetItems(Peek(), new[] { k, v }); break; }
                case PickleOpcode.SetItems:
                    {
                        var items = PopToMark();
                        if (items.Length % 2 != 0) throw new PickleDataException("SETITEMS with an odd number of items");
                        SetItems(Peek(), items);
                        break;
                    }

                case PickleOpcode.Put: MemoPut(ParseIndex(src.ReadLine())); break;
                case PickleOpcode.BinPut: MemoPut(ReadU8(src)); break;
                case PickleOpcode.LongBinPut: MemoPut((long)src.ReadLittleEndian(4)); break;
                case PickleOpcode.Memoize: MemoPut(_memo.Count); break;
                case PickleOpcode.Get: MemoGet(ParseIndex(src.ReadLine())); break;
                case PickleOpcode.BinGet: MemoGet(ReadU8(src)); break;
                case PickleOpcode.LongBinGet: MemoGet((long)src.ReadLittleEndian(4)); break;

                case PickleOpcode.Global:
                    {
                        var module = DecodeLatin1Line(src.ReadLine(4096));
                        var name = DecodeLatin1Line(src.ReadLine(4096));
                        Push(Resolve(module, name));
                        break;
                    }
                case PickleOpcode.StackGlobal:
                    {
                        var name = Pop();
                        var module = Pop();
                        if (module is not string m || name is not string n)
                            throw new PickleDataException($"STACK_GLOBAL needs two strings, got {TypeName(module)} and {TypeName(name)}");
                        Push(Resolve(m, n));
                        break;
                    }
                case PickleOpcode.Inst:
                    {
                        var module = DecodeLatin1Line(src.ReadLine(4096));
                        var name = DecodeLatin1Line(src.ReadLine(4096));
                        var args = NewTuple(PopToMark());
                        var cls = Resolve(module, name);
                        // INST calls its class: getattr this way is an attribute lookup too
                        Push(Count(_globals.NoteCall(cls, args, _host.NewObject(cls, args, null))));
                        break;
                    }
                case PickleOpcode.Obj:
                    {
                        var items = PopToMark();
                        if (items.Length == 0) throw new PickleDataException("OBJ without a class");
                        var args = new object?[items.Length - 1];
                        Array.Copy(items, 1, args, 0, args.Length);
                        var objArgs = NewTuple(args);
                        Push(Count(_globals.NoteCall(items[0], objArgs, _host.NewObject(items[0], objArgs, null))));
                        break;
                    }
                case PickleOpcode.Ext1: Push(Extension(ReadU8(src))); break;
                case PickleOpcode.Ext2: Push(Extension(BitConverter.ToUInt16(Le(src.ReadBytes(2)), 0))); break;
                case PickleOpcode.Ext4: Push(Extension(BitConverter.ToInt32(Le(src.ReadBytes(4)), 0))); break;
                case PickleOpcode.Reduce:
                    {
                        var args = Pop();
                        var callable = Pop();
                        if (args is not PyTuple t) throw new PickleDataException($"REDUCE arguments must be a tuple, got {TypeName(args)}");
                        Push(Count(_globals.NoteCall(callable, t, _host.Call(callable, t))));
                        break;
                    }
                case PickleOpcode.NewObj:
                    {
                        var args = Pop();
                        var cls = Pop();
                        if (args is not PyTuple t) throw new PickleDataException($"NEWOBJ arguments must be a tuple, got {TypeName(args)}");
                        Push(Count(_globals.NoteNewObject(cls, t, _host.NewObject(cls, t, null))));
                        break;
                    }
                case PickleOpcode.NewObjEx:
                    {
                        var kwargs = Pop();
                        var args = Pop();
                        var cls = Pop();
                        if (args is not PyTuple t) throw new PickleDataException($"NEWOBJ_EX arguments must be a tuple, got {TypeName(args)}");
                        if (kwargs is not PyDict kw) throw new PickleDataException($"NEWOBJ_EX keyword arguments must be a dict, got {TypeName(kwargs)}");
                        Push(Count(_globals.NoteNewObject(cls, t, _host.NewObject(cls, t, kw))));
                        break;
                    }
                case PickleOpcode.Build:
                    {
                        var state = Pop();
                        var target = Pop();
                        Push(_host.Build(target, state));
                        break;
                    }
                case PickleOpcode.PersId: Push(_host.PersistentLoad(DecodeLatin1Line(src.ReadLine()))); break;
                case PickleOpcode.BinPersId: Push(_host.PersistentLoad(Pop())); break;
                default:
                    throw new PickleDataException($"unknown opcode 0x{(byte)op:x2}");
            }
        }

        private object? Resolve(string module, string name)
        {
            var value = _host.ResolveGlobal(module, name);
            _globals.Record(module, name, Protocol, value);
            return value;
        }

        private static object Extension(int code) => new PyGlobal("copyreg._extension_registry", code.ToString(CultureInfo.InvariantCulture));

        private T Count<T>(T value)
        {
            if (++_containers > _maxContainers)
                throw new PickleDataException($"the pickle builds more than {_maxContainers} objects (Limits.MaxContainers)", CheckpointErrorKind.LimitExceeded);
            Spend(Limits.CostPerContainer);
            return value;
        }

        /// <summary>Adds to the estimated memory of the graph; past <see cref="Limits.MaxPickleCostFor"/> the load stops.</summary>
        private void Spend(long bytes, long textBytes = 0)
        {
            _cost += bytes + textBytes;
            _textCost += textBytes;
            // the per-pickle ceiling is on objects: text and byte strings are bounded by the file bytes they come from
            if (_cost - _textCost > MaxObjectCost)
                throw new PickleDataException($"the pickle builds more than {MaxObjectCost / (1 << 20)} MiB of objects ({(MaxObjectCost == Limits.MaxPickleCost ? "Limits.MaxPickleCost" : "Limits.MaxDcpMetadataCostFor")})", CheckpointErrorKind.LimitExceeded);
            if (_cost > _maxCost)
                throw new PickleDataException($"the pickle builds more than {_maxCost / (1 << 20)} MiB of objects (Limits.MaxPickleCostFor: {Limits.PickleCostPerFileByte} bytes per pickle byte in the file, at least {Limits.MinPickleCost / (1 << 20)} MiB)", CheckpointErrorKind.LimitExceeded);
        }

        // Sizes, strides, offsets and memo numbers are mostly small: their boxes are shared rather than allocated per push
        // (a boxed long is immutable, and nothing compares ints by reference).
        private static readonly object[] SmallInts = MakeSmallInts();

        private static object[] MakeSmallInts()
        {
            var boxes = new object[1 + 4096];
            for (int i = 0; i < boxes.Length; i++) boxes[i] = (long)(i - 1);
            return boxes;
        }

        /// <summary>A boxed integer; -1…4095 share one box each, so they cost the memory budget nothing.</summary>
        private static object BoxedInt(long v) => (ulong)(v + 1) < (ulong)SmallInts.Length ? SmallInts[v + 1] : v;

        private PyTuple NewTuple(object?[] items)
        {
            if (items.Length == 0) return PyTuple.Empty;
            Spend(8L * items.Length);
            return Count(new PyTuple(items));
        }

        private void AppendTo(object? target, object?[] items)
        {
            Spend(Limits.CostPerItem * items.Length);
            switch (target)
            {
                case PyList list: list.AddRange(items); break;
                case PySet set: foreach (var i in items) set.AddItem(i); break;
                case PyObject o:
                    o.ListItems ??= Count(new PyList());
                    o.ListItems.AddRange(items);
                    break;
                default: throw new PickleDataException($"APPEND on {TypeName(target)}, which is not a list");
            }
        }

        private void SetItems(object? target, object?[] kv)
        {
            PyDict dict;
            switch (target)
            {
                case PyDict d: dict = d; break;
                case PyObject o: dict = o.DictItems ??= Count(new PyDict()); break;
                default: throw new PickleDataException($"SETITEM on {TypeName(target)}, which is not a dict");
            }
            int before = dict.Count;
            for (int i = 0; i < kv.Length; i += 2) dict.Set(kv[i], kv[i + 1]);
            Spend(Limits.CostPerDictEntry * (dict.Count - before)); // a replaced key costs nothing more
        }

        private void MemoPut(long index)
        {
            if (_stack.Count == 0) throw new PickleDataException("memo PUT with an empty stack");
            if (!_memo.Contains(index) && _memo.Count >= _maxMemo)
                throw new PickleDataException($"more than {_maxMemo} memo entries (Limits.MaxMemoEntries)", CheckpointErrorKind.LimitExceeded);
            _memo.Put(index, _stack[_stack.Count - 1]);
            Spend(_memo.LastPutCost);
        }

        private void MemoGet(long index)
        {
            if (!_memo.TryGet(index, out var v)) throw new PickleDataException($"memo GET of index {index}, which was never PUT");
            Push(v);
        }

        private void Push(object? v)
        {
            if (_stack.Count >= Limits.MaxStackDepth)
                throw new PickleDataException($"the pickle stack exceeds {Limits.MaxStackDepth} items (Limits.MaxStackDepth)", CheckpointErrorKind.LimitExceeded);
            _stack.Add(v);
        }

        /// <summary>Pushes a value read from the pickle text (not a memo reference), charging its memory.</summary>
        private void PushNew(object? v)
        {
            switch (v)
            {
                case string s: Spend(24, 2L * s.Length); break;
                case byte[] b: Spend(24, b.LongLength); break;
                case BigInteger _: Spend(64); break;
                case double _: Spend(24); break;
                case long l when (ulong)(l + 1) >= (ulong)SmallInts.Length: Spend(24); break; // outside the shared boxes
            }
            Push(v);
        }

        private object? Pop()
        {
            int floor = _marks.Count > 0 ? _marks[_marks.Count - 1] : 0;
            if (_stack.Count <= floor) throw new PickleDataException("stack underflow");
            var v = _stack[_stack.Count - 1];
            _stack.RemoveAt(_stack.Count - 1);
            return v;
        }

        private object? Peek()
        {
            int floor = _marks.Count > 0 ? _marks[_marks.Count - 1] : 0;
            if (_stack.Count <= floor) throw new PickleDataException("stack underflow");
            return _stack[_stack.Count - 1];
        }

        private object?[] PopToMark()
        {
            if (_marks.Count == 0) throw new PickleDataException("no MARK on the stack");
            int mark = _marks[_marks.Count - 1];
            _marks.RemoveAt(_marks.Count - 1);
            var items = new object?[_stack.Count - mark];
            _stack.CopyTo(mark, items, 0, items.Length);
            _stack.RemoveRange(mark, items.Length);
            return items;
        }

        private void PopMark() => PopToMark();

        private static int ReadU8(PickleSource src)
        {
            int b = src.ReadByte();
            if (b < 0) throw new PickleDataException("unexpected end of data", CheckpointDefect.Truncated);
            return b;
        }

        private static long ReadInt64(PickleSource src)
        {
            long n = (long)src.ReadLittleEndian(8);
            if (n < 0) throw new PickleDataException($"negative length {n}");
            return n;
        }

        private static byte[] Le(byte[] b)
        {
            if (!BitConverter.IsLittleEndian) Array.Reverse(b);
            return b;
        }

        /// <summary>Two's-complement little-endian integer of any size (LONG1/LONG4).</summary>
        internal static object DecodeLong(byte[] bytes)
        {
            if (bytes.Length == 0) return 0L;
            if (bytes.Length <= 8)
            {
                long v = 0;
                for (int i = bytes.Length - 1; i >= 0; i--) v = (v << 8) | bytes[i];
                int shift = 64 - 8 * bytes.Length;
                if (shift > 0) v = (v << shift) >> shift; // sign-extend
                return v;
            }
            var big = new BigInteger(bytes); // BigInteger reads two's-complement little-endian
            return big >= long.MinValue && big <= long.MaxValue ? (object)(long)big : big;
        }

        private static object ParseIntLine(string line)
        {
            if (line == "01") return true;
            if (line == "00") return false;
            return ParseBigOrLong(line);
        }

        private static object ParseLongLine(string line)
        {
            if (line.EndsWith("L", StringComparison.Ordinal)) line = line.Substring(0, line.Length - 1);
            return ParseBigOrLong(line);
        }

        private static object ParseBigOrLong(string text)
        {
            text = text.Trim();
            if (text.TrimStart('-', '+').Length > Limits.MaxIntDigits)
                throw new PickleDataException($"an integer literal of {text.Length} characters exceeds {Limits.MaxIntDigits} digits (Limits.MaxIntDigits)", CheckpointErrorKind.LimitExceeded);
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)) return l;
            if (BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big)) return big;
            throw new PickleDataException($"'{Truncate(text)}' is not an integer");
        }

        private static long ParseIndex(string line)
        {
            if (!long.TryParse(line.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
                throw new PickleDataException($"'{Truncate(line)}' is not a memo index");
            return v;
        }

        private static string Truncate(string s) => s.Length <= 40 ? s : s.Substring(0, 40) + "…";

        private static readonly UTF8Encoding StrictUtf8 = new UTF8Encoding(false, true);

        private static string Utf8(byte[] b) => Utf8(b, 0, b.Length);

        private static string Utf8(byte[] b, int offset, int count)
        {
            try { return StrictUtf8.GetString(b, offset, count); }
            catch (DecoderFallbackException) { throw new PickleDataException("a string is not valid UTF-8"); }
        }

        /// <summary>A UTF-8 string of <paramref name="count"/> bytes, decoded in place from the source's buffer.</summary>
        private static string Utf8(PickleSource src, long count)
        {
            if (src.TryReadInPlace(count, out var buffer, out int at)) return count == 0 ? "" : Utf8(buffer, at, (int)count);
            return Utf8(src.ReadBytes(count));
        }



        // torch.load decodes Python 2 str with encoding='utf-8'; fall back to latin-1 like encoding='latin1' would.
        private static string DecodeByteString(byte[] b)
        {
            try { return StrictUtf8.GetString(b); }
            catch (DecoderFallbackException) { return Latin1(b); }
        }

        private static string Latin1(byte[] b)
        {
            var chars = new char[b.Length];
            for (int i = 0; i < b.Length; i++) chars[i] = (char)b[i];
            return new string(chars);
        }

        private static string DecodeLatin1Line(string line)
        {
            // lines were read as latin-1 chars; module and class names are UTF-8 in protocol 3+
            var bytes = new byte[line.Length];
            for (int i = 0; i < line.Length; i++) bytes[i] = (byte)line[i];
            return DecodeByteString(bytes);
        }

        /// <summary>The quoted repr of a protocol-0 STRING, unescaped to its bytes.</summary>
        private static byte[] UnquoteProtocol0(string line)
        {
            if (line.Length < 2 || (line[0] != '\'' && line[0] != '"') || line[line.Length - 1] != line[0])
                throw new PickleDataException("STRING argument is not a quoted string");
            var s = line.Substring(1, line.Length - 2);
            var outp = new List<byte>(s.Length);
            for (int i = 0; i < s.Length; i++)
            {
                char c = s[i];
                if (c != '\\' || i + 1 >= s.Length) { outp.Add((byte)c); continue; }
                char e = s[++i];
                switch (e)
                {
                    case 'n': outp.Add((byte)'\n'); break;
                    case 'r': outp.Add((byte)'\r'); break;
                    case 't': outp.Add((byte)'\t'); break;
                    case 'a': outp.Add(7); break;
                    case 'b': outp.Add(8); break;
                    case 'f': outp.Add(12); break;
                    case 'v': outp.Add(11); break;
                    case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
                        {
                            int v = e - '0', k = 1;
                            while (k < 3 && i + 1 < s.Length && s[i + 1] >= '0' && s[i + 1] <= '7') { v = v * 8 + (s[++i] - '0'); k++; }
                            outp.Add((byte)v);
                            break;
                        }
                    case 'x':
                        if (i + 2 < s.Length && Uri.IsHexDigit(s[i + 1]) && Uri.IsHexDigit(s[i + 2]))
                        {
                            outp.Add((byte)Convert.ToInt32(s.Substring(i + 1, 2), 16));
                            i += 2;
                        }
                        else throw new PickleDataException("bad \\x escape in STRING");
                        break;
                    default: outp.Add((byte)e); break;
                }
            }
            return outp.ToArray();
        }

        /// <summary>Python's raw-unicode-escape: \uXXXX and \UXXXXXXXX escapes, everything else latin-1.</summary>
        private static string DecodeRawUnicodeEscape(string line)
        {
            var sb = new StringBuilder(line.Length);
            for (int i = 0; i < line.Length; i++)
            {
                char c = line[i];
                if (c == '\\' && i + 1 < line.Length && (line[i + 1] == 'u' || line[i + 1] == 'U'))
                {
                    int len = line[i + 1] == 'u' ? 4 : 8;
                    if (i + 2 + len <= line.Length &&
                        int.TryParse(line.Substring(i + 2, len), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int cp) &&
                        cp >= 0 && cp <= 0x10FFFF)
                    {
                        sb.Append(char.ConvertFromUtf32(cp >= 0xD800 && cp <= 0xDFFF ? 0xFFFD : cp));
                        i += 1 + len;
                        continue;
                    }
                    throw new PickleDataException("bad \\u escape in UNICODE");
                }
                sb.Append(c);
            }
            return sb.ToString();
        }

        internal static string TypeName(object? v) => v switch
        {
            null => "None",
            bool => "bool",
            long or BigInteger => "int",
            double => "float",
            string => "str",
            byte[] => "bytes",
            PyTuple => "tuple",
            PyList => "list",
            PyDict => "dict",
            PySet => "set",
            PyGlobal g => g.FullName,
            PyObject o => o.Class?.FullName ?? "object",
            _ => v.GetType().Name,
        };
    }
}
