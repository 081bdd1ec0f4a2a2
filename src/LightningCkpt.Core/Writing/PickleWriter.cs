using System;
using System.Numerics;
using LightningCkpt.Pickle;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// A protocol-2 pickle writer that only emits globals on torch's weights_only allow-list and only the opcodes the
    /// weights_only unpickler supports. Objects: None, bool, long/int/BigInteger, double, string, byte[]
    /// (<c>_codecs.encode</c>), <see cref="PyTuple"/>, <see cref="PyList"/>, <see cref="PyDict"/> (an OrderedDict when its
    /// PythonType says so, else a plain dict), <see cref="PySet"/> (<c>builtins.set</c>), <see cref="Complex"/>
    /// (<c>builtins.complex</c>) and <see cref="OutTensor"/> (<c>_rebuild_tensor_v2</c>/<c>_v3</c> with a storage
    /// persistent id). Containers and tensors are memoized (BINPUT) and reused (BINGET), so shared objects stay shared.
    /// </summary>
    internal sealed class PickleWriter : PickleEmitter
    {
        public static byte[] Dump(object? root)
        {
            var w = new PickleWriter();
            w.Start();
            w.Save(root);
            return w.Finish();
        }

        private void Save(object? v)
        {
            switch (v)
            {
                case null: _out.WriteByte(NONE); return;
                case bool b: _out.WriteByte(b ? NEWTRUE : NEWFALSE); return;
                case int i: SaveLong(i); return;
                case long l: SaveLong(l); return;
                case BigInteger bi: SaveBig(bi); return;
                case double d: SaveDouble(d); return;
                case float f: SaveDouble(f); return;
                case string s: SaveString(s); return;
            }
            if (_memo.TryGetValue(v, out int id)) { Get(id); return; }
            switch (v)
            {
                case byte[] bytes: SaveBytes(bytes); return;
                case Complex c: SaveComplex(v, c); return;
                case PyTuple t: SaveTuple(t, v); return;
                case PyList list:
                    _out.WriteByte(EMPTY_LIST);
                    Put(v);
                    for (int k = 0; k < list.Count; k += Batch)
                    {
                        _out.WriteByte(MARK);
                        for (int j = k; j < Math.Min(list.Count, k + Batch); j++) Save(list[j]);
                        _out.WriteByte(APPENDS);
                    }
                    return;
                case PySet set:
                    Global("builtins", "set");
                    _out.WriteByte(EMPTY_LIST);
                    if (set.Count > 0)
                    {
                        _out.WriteByte(MARK);
                        foreach (var item in set) Save(item);
                        _out.WriteByte(APPENDS);
                    }
                    _out.WriteByte(TUPLE1);
                    _out.WriteByte(REDUCE);
                    Put(v);
                    return;
                case PyDict dict:
                    if (dict.PythonType != null && dict.PythonType.Is("collections", "OrderedDict"))
                    {
                        Global("collections", "OrderedDict");
                        _out.WriteByte(EMPTY_TUPLE);
                        _out.WriteByte(REDUCE);
                    }
                    else _out.WriteByte(EMPTY_DICT);
                    Put(v);
                    var entries = dict.Entries;
                    for (int k = 0; k < entries.Count; k += Batch)
                    {
                        _out.WriteByte(MARK);
                        for (int j = k; j < Math.Min(entries.Count, k + Batch); j++) { Save(entries[j].Key); Save(entries[j].Value); }
                        _out.WriteByte(SETITEMS);
                    }
                    return;
                case OutTensor t: SaveTensor(t); return;
                case Torch.DType dt: Global("torch", dt.Name); return;
                case PyObject o when o.Class != null && o.Class.Is("torch", "device") && o.State == null:
                    Global("torch", "device");
                    SaveTuple(o.Args, o.Args);
                    _out.WriteByte(REDUCE);
                    Put(o);
                    return;
            }
            throw new InvalidOperationException($"cannot pickle a {v.GetType().Name} with allow-listed globals only");
        }

        private void SaveTensor(OutTensor t)
        {
            var st = t.Storage ?? throw new InvalidOperationException($"tensor '{t.Name}' has no storage assigned");
            bool v3 = st.TypedAs == null;
            Global("torch._utils", v3 ? "_rebuild_tensor_v3" : "_rebuild_tensor_v2");
            _out.WriteByte(MARK);
            // persistent id ('storage', storage type, key, location, numel)
            _out.WriteByte(MARK);
            SaveString("storage");
            // torch 2.x's weights_only loader knows the untyped storage only by its defining module (what torch.save writes)
            if (v3) Global("torch.storage", "UntypedStorage");
            else Global("torch", st.TypedAs!.StorageName!);
            SaveString(st.Key);
            SaveString("cpu");
            SaveLong(st.Numel);
            _out.WriteByte(TUPLE);
            _out.WriteByte(BINPERSID);
            SaveLong(t.StorageOffset);
            SaveLongTuple(t.Shape);
            SaveLongTuple(t.Stride);
            Save(t.RequiresGrad);
            Global("collections", "OrderedDict");
            _out.WriteByte(EMPTY_TUPLE);
            _out.WriteByte(REDUCE);
            if (v3) Global("torch", t.DType.Name);
            _out.WriteByte(TUPLE);
            _out.WriteByte(REDUCE);
            Put(t);
        }

        private void SaveTuple(PyTuple t, object key)
        {
            if (t.IsTorchSize) { SaveTorchSize(t, Save); return; }
            if (t.Count == 0) { _out.WriteByte(EMPTY_TUPLE); return; }
            if (t.Count > 3) _out.WriteByte(MARK);
            foreach (var x in t) Save(x);
            _out.WriteByte(t.Count switch { 1 => TUPLE1, 2 => TUPLE2, 3 => TUPLE3, _ => TUPLE });
            Put(key);
        }

    }
}
