using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Numerics;
using System.Threading;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// Writes an object graph read from checkpoints (possibly edited) back as a protocol-2 pickle, the way
    /// torch.save would write what torch.load returned:
    /// inert objects with their own construction (the same global, REDUCE or NEWOBJ, arguments, appended items, set
    /// items, BUILD state); dicts, lists, sets and tuples from their current contents (OrderedDict, defaultdict and
    /// other dict classes keep their class and attributes); values the hosts rebuilt (numpy arrays and scalars,
    /// torch.Size, paths, special tensors) from their recorded <see cref="Construction"/>; dense tensors through
    /// <c>_rebuild_tensor_v2</c> (and <c>_rebuild_parameter</c>, <c>_rebuild_from_type_v2</c>) with storage persistent
    /// ids. Every object is written once and referenced by memo afterwards, so sharing and cycles survive.
    /// Plain .NET values a user added map to Python types (see <see cref="Save"/>).
    /// </summary>
    internal sealed class GraphPickler : PickleEmitter
    {
        /// <summary>Nesting beyond this is refused rather than risking the stack (the writer runs on a large-stack thread).</summary>
        internal const int MaxDepth = 20000;

        private readonly Func<object, object?>? _normalize;
        private readonly Func<StorageRef, Checkpoint?> _sourceOf;
        private readonly Dictionary<StorageRef, ZipStorage> _storages = new Dictionary<StorageRef, ZipStorage>();
        private readonly List<ZipStorage> _ordered = new List<ZipStorage>();
        private readonly Dictionary<StorageRef, Checkpoint> _owners = new Dictionary<StorageRef, Checkpoint>();
        private readonly HashSet<Checkpoint> _known = new HashSet<Checkpoint>();
        private readonly HashSet<object> _building = new HashSet<object>(ReferenceComparer.Instance);
        private int _depth;

        private GraphPickler(Func<StorageRef, Checkpoint?> sourceOf, Func<object, object?>? normalize)
        {
            _sourceOf = sourceOf;
            _normalize = normalize;
        }

        /// <summary>The pickle of <paramref name="root"/> and the storages it references, keys "0".."N" in write order.</summary>
        /// <param name="root">The value to pickle.</param>
        /// <param name="sourceOf">The checkpoint whose file holds a storage's bytes (null: unknown, an error).</param>
        /// <param name="normalize">Maps foreign values (PowerShell wrappers) to plain ones before they are written.</param>
        public static (byte[] Pickle, List<ZipStorage> Storages) Dump(object? root, Func<StorageRef, Checkpoint?> sourceOf, Func<object, object?>? normalize = null) =>
            Dump(root, sourceOf, normalize, out _);

        /// <summary>As <see cref="Dump(object?, Func{StorageRef, Checkpoint?}, Func{object, object?}?)"/>, also naming the globals the pickle uses.</summary>
        /// <param name="root">The value to pickle.</param>
        /// <param name="sourceOf">The checkpoint whose file holds a storage's bytes (null: unknown, an error).</param>
        /// <param name="normalize">Maps foreign values (PowerShell wrappers) to plain ones before they are written.</param>
        /// <param name="globals">Every global the pickle names ("module", "name"), once each.</param>
        public static (byte[] Pickle, List<ZipStorage> Storages) Dump(object? root, Func<StorageRef, Checkpoint?> sourceOf, Func<object, object?>? normalize,
            out List<(string Module, string Name)> globals)
        {
            var w = new GraphPickler(sourceOf, normalize);
            byte[]? result = null;
            Exception? failure = null;
            // deep but legal graphs (long linked structures) must not overflow the caller's 1 MB stack
            var thread = new Thread(() =>
            {
                try
                {
                    w.Start();
                    w.Save(root);
                    result = w.Finish();
                }
                catch (Exception e) { failure = e; }
            }, 256 << 20);
            thread.Start();
            thread.Join();
            if (failure != null) throw failure is GraphWriteException ? failure : new GraphWriteException(failure.Message, failure);
            globals = w.WrittenGlobals;
            return (result!, w._ordered);
        }

        /// <summary>
        /// Python type mapping: null → None; bool → bool; any .NET integer and BigInteger → int; double, float, decimal →
        /// float; string, char → str; byte[] → bytes; Complex → complex; IDictionary → dict; other IEnumerables → list.
        /// </summary>
        private void Save(object? v)
        {
            if (v != null && _normalize != null) v = _normalize(v);
            switch (v)
            {
                case null: Op(NONE); return;
                case string s: SaveString(s); return;
            }
            if (_memo.TryGetValue(v, out int id)) { Get(id); return; }
            if (++_depth > MaxDepth) throw new GraphWriteException($"the object graph nests deeper than {MaxDepth} levels");
            try
            {
                var recorded = Construction.Of(v);
                if (recorded != null && !(v is TensorRef dense && IsDense(dense)) && !(v is PyDict) && !(v is PyList)) { SaveConstruction(v, recorded); return; }
                if (SaveScalar(v)) return;
                switch (v)
                {
                    case byte[] bytes: SaveBytes(bytes); return;
                    case Complex c: SaveComplex(v, c); return;
                    case PyTuple t: SaveTuple(t); return;
                    case PyList list: SaveList(list); return;
                    case PySet set: SaveSet(set); return;
                    case PyDict dict: SaveDict(dict); return;
                    case PyObject o: SaveObject(o); return;
                    case PyGlobal g: Global(g.PickledModule ?? g.Module, g.Name); return;
                    case DType dt: Global("torch", dt.Name); return;
                    case TorchStorageType st: Global(st.Global.Module, st.Global.Name); return;
                    case PyPath p:
                        Global(p.PythonType.Module, p.PythonType.Name);
                        SaveString(p.Path);
                        Op(TUPLE1); Op(REDUCE);
                        Put(p);
                        return;
                    case CkptTensor ct:
                        Learn(ct.Source);
                        SaveTensor(ct, ct.Tensor, ct.Source);
                        return;
                    case TensorRef tr: SaveTensor(tr, tr, null); return;
                    case StorageValue sv: SavePersistentId(sv.Storage, sv.DType, null); return;
                    case IDictionary map: SaveForeignDict(map); return;
                    case IEnumerable seq: SaveForeignList(seq); return;
                }
                throw new GraphWriteException($"a {v.GetType().FullName} value ({Short(v)}) has no Python type to be written as; use a number, string, bool, $null, byte[], list, dictionary or a value read from a checkpoint");
            }
            finally { _depth--; }
        }

        private bool SaveScalar(object v)
        {
            switch (v)
            {
                case bool b: Op(b ? NEWTRUE : NEWFALSE); return true;
                case long l: SaveLong(l); return true;
                case int i: SaveLong(i); return true;
                case short s: SaveLong(s); return true;
                case sbyte sb: SaveLong(sb); return true;
                case byte by: SaveLong(by); return true;
                case ushort us: SaveLong(us); return true;
                case uint ui: SaveLong(ui); return true;
                case ulong ul: SaveBig(ul); return true;
                case BigInteger bi: SaveBig(bi); return true;
                case double d: SaveDouble(d); return true;
                case float f: SaveDouble(f); return true;
                case decimal m: SaveDouble((double)m); return true;
                case char ch: SaveString(ch.ToString()); return true;
                default: return false;
            }
        }

        // ---------------------------------------------------------------- containers

        /// <summary>Python's save_tuple: items first; if an item led back to this tuple, drop the items and use the memo.</summary>
        private void SaveTuple(PyTuple t)
        {
            if (t.IsTorchSize) { SaveTorchSize(t, Save); return; }
            if (t.Count == 0) { Op(EMPTY_TUPLE); return; }
            if (t.Count > 3) Op(MARK);
            foreach (var x in t) Save(x);
            if (_memo.TryGetValue(t, out int id))
            {
                if (t.Count > 3) Op(POP_MARK);
                else for (int i = 0; i < t.Count; i++) Op(POP);
                Get(id);
                return;
            }
            Op(TupleOp(t.Count));
            Put(t);
        }

        private void SaveList(PyList list)
        {
            if (Construction.Of(list) is { } made)
            {
                if (SaveMadeContainer(list, made, () => { Op(EMPTY_LIST); SaveAppends(list); })) return;
                SaveAppends(list);
                return;
            }
            if (list.PythonType != null)
            {
                Global(list.PythonType.Module, list.PythonType.Name); // collections.deque and friends: made empty, then extended
                Op(EMPTY_TUPLE); Op(REDUCE);
            }
            else Op(EMPTY_LIST);
            Put(list);
            SaveAppends(list);
        }

        private void SaveAppends(IList<object?> items)
        {
            for (int k = 0; k < items.Count; k += Batch)
            {
                Op(MARK);
                for (int j = k; j < Math.Min(items.Count, k + Batch); j++) Save(items[j]);
                Op(APPENDS);
            }
        }

        private void SaveSet(PySet set)
        {
            Global("builtins", set.IsFrozen ? "frozenset" : "set");
            Op(EMPTY_LIST);
            if (set.Count > 0)
            {
                Op(MARK);
                foreach (var item in set) Save(item);
                Op(APPENDS);
            }
            Op(TUPLE1); Op(REDUCE);
            Put(set);
        }

        private void SaveDict(PyDict dict)
        {
            var type = dict.PythonType;
            if (Construction.Of(dict) is { } made)
            {
                if (!SaveMadeContainer(dict, made, () => { Op(EMPTY_DICT); SaveSetItems(dict.Entries); })) SaveSetItems(dict.Entries);
                SaveDictAttributes(dict);
                return;
            }
            if (type == null) Op(EMPTY_DICT);
            else if (type.Is("collections", "OrderedDict"))
            {
                Global(type.Module, type.Name);
                Op(EMPTY_TUPLE); Op(REDUCE);
            }
            else if (type.Is("collections", "defaultdict"))
            {
                Global(type.Module, type.Name);
                Save(dict.DefaultFactory);
                Op(TUPLE1); Op(REDUCE);
            }
            else
            {
                // a dict subclass as object.__reduce_ex__(2) writes it: cls.__new__(cls), then its items
                Global(type.Module, type.Name);
                Op(EMPTY_TUPLE); Op(NEWOBJ);
            }
            Put(dict);
            SaveSetItems(dict.Entries);
            SaveDictAttributes(dict);
        }

        private void SaveDictAttributes(PyDict dict)
        {
            if (dict.Attributes != null && dict.Attributes.Count > 0)
            {
                Save(dict.Attributes);
                Op(BUILD);
            }
        }

        /// <summary>
        /// A dict or list made by a call (Counter(d), deque(items, maxlen), OrderedDict(), a dict subclass's NEWOBJ):
        /// the same call again. When the contents were its first argument, the current contents take their place and
        /// true is returned; otherwise the caller appends the contents as items.
        /// </summary>
        private bool SaveMadeContainer(object container, Construction made, Action saveContents)
        {
            bool contentArg = made.Args.Count >= 1 && made.Args[0] is PyDict or PyList or PyTuple
                && !(made.Callable is PyGlobal g && g.Is("collections", "defaultdict"));
            Enter(container);
            Save(made.Callable);
            if (contentArg)
            {
                if (made.Args.Count > 3) Op(MARK);
                saveContents();
                for (int i = 1; i < made.Args.Count; i++) Save(made.Args[i]);
                Op(TupleOp(made.Args.Count));
            }
            else Save(made.Args);
            if (made.ViaNewObject && made.Kwargs != null && made.Kwargs.Count > 0) { Save(made.Kwargs); Op(NEWOBJ_EX); }
            else Op(made.ViaNewObject ? NEWOBJ : REDUCE);
            Leave(container);
            Put(container);
            return contentArg;
        }

        private void SaveSetItems(IReadOnlyList<KeyValuePair<object?, object?>> entries)
        {
            for (int k = 0; k < entries.Count; k += Batch)
            {
                Op(MARK);
                for (int j = k; j < Math.Min(entries.Count, k + Batch); j++) { Save(entries[j].Key); Save(entries[j].Value); }
                Op(SETITEMS);
            }
        }

        private void SaveForeignDict(IDictionary map)
        {
            Op(EMPTY_DICT);
            Put(map);
            var entries = new List<KeyValuePair<object?, object?>>(map.Count);
            foreach (DictionaryEntry e in map) entries.Add(new KeyValuePair<object?, object?>(e.Key, e.Value));
            SaveSetItems(entries);
        }

        private void SaveForeignList(IEnumerable seq)
        {
            Op(EMPTY_LIST);
            Put(seq);
            var items = new List<object?>();
            foreach (var x in seq) items.Add(x);
            SaveAppends(items);
        }

        // ---------------------------------------------------------------- objects

        private void SaveObject(PyObject o)
        {
            Enter(o);
            SaveCall(o.Callable, o.Args, o.Kwargs, o.ViaNewObject);
            Leave(o);
            Put(o);
            if (o.ListItems != null && o.ListItems.Count > 0) SaveAppends(o.ListItems);
            if (o.DictItems != null && o.DictItems.Count > 0) SaveSetItems(o.DictItems.Entries);
            if (o.State != null)
            {
                Save(o.State);
                Op(BUILD);
            }
        }

        private void SaveConstruction(object v, Construction c)
        {
            Enter(v);
            SaveCall(c.Callable, c.Args, c.Kwargs, c.ViaNewObject);
            Leave(v);
            Put(v);
            foreach (var state in c.States)
            {
                Save(state);
                Op(BUILD);
            }
        }

        private void SaveCall(object? callable, PyTuple args, PyDict? kwargs, bool viaNewObject)
        {
            Save(callable);
            Save(args);
            if (viaNewObject && kwargs != null && kwargs.Count > 0) { Save(kwargs); Op(NEWOBJ_EX); }
            else Op(viaNewObject ? NEWOBJ : REDUCE);
        }

        // An object's constructor arguments cannot refer back to it: pickle has no way to say that.
        private void Enter(object v)
        {
            if (!_building.Add(v)) throw new GraphWriteException($"{Short(v)} refers to itself through its own constructor arguments, which pickle cannot express");
        }

        private void Leave(object v) => _building.Remove(v);

        // ---------------------------------------------------------------- tensors

        /// <summary>A tensor torch writes with _rebuild_tensor_v2 from its storage: strided, stored, not quantized or subclassed.</summary>
        internal static bool IsDense(TensorRef t) =>
            t.Layout == "strided" && t.Storage != null && t.Storage.InlineData == null && t.Quantizer == null && t.SubclassType == null;

        private void SaveTensor(object key, TensorRef t, Checkpoint? source)
        {
            if (!ReferenceEquals(key, t) && _memo.TryGetValue(t, out int shared)) { Get(shared); return; }
            bool fresh = NeedsFreshStorage(t, source);
            if (!fresh && !IsDense(t))
            {
                var c = Construction.Of(t)
                    ?? throw new GraphWriteException($"{t} ({t.Layout}{(t.Quantizer != null ? ", quantized" : "")}) was not read with its construction recorded; import the checkpoint with Import-Ckpt to write it");
                SaveConstruction(key, c);
                return;
            }
            // torch 1.13 Tensor.__reduce_ex__ and Parameter.__reduce_ex__, spelled out
            bool hasState = t.PythonState is PyDict sd ? sd.Count > 0 : t.PythonState != null;
            if (t.IsParameter)
            {
                Global("torch._utils", hasState ? "_rebuild_parameter_with_state" : "_rebuild_parameter");
                Op(MARK);
                SaveDenseRebuild(t, source, requiresGrad: false, fresh); // Parameter.data is a detached tensor
                Save(t.RequiresGrad);
                SaveEmptyOrderedDict();
                if (hasState) Save(t.PythonState);
                Op(TUPLE); Op(REDUCE);
            }
            else if (hasState)
            {
                // _rebuild_from_type_v2(func, type, args, state)
                Global("torch._tensor", "_rebuild_from_type_v2");
                Op(MARK);
                Global("torch._utils", RebuildFunction(t));
                Global("torch", "Tensor");
                SaveDenseArgs(t, source, t.RequiresGrad, fresh);
                Save(t.PythonState);
                Op(TUPLE); Op(REDUCE);
            }
            else SaveDenseRebuild(t, source, t.RequiresGrad, fresh);
            Put(key);
            if (!ReferenceEquals(key, t)) _memo[t] = _memo[key];
        }

        private void SaveDenseRebuild(TensorRef t, Checkpoint? source, bool requiresGrad, bool fresh)
        {
            Global("torch._utils", RebuildFunction(t));
            SaveDenseArgs(t, source, requiresGrad, fresh);
            Op(REDUCE);
        }

        /// <summary>
        /// Consolidation: a tensor assembled from chunks, or a view into a larger partition of a sharded checkpoint
        /// (DeepSpeed's flat groups), becomes a fresh dense storage holding exactly its elements, as
        /// dcp_to_torch_save and zero_to_fp32 write it.
        /// </summary>
        private static bool NeedsFreshStorage(TensorRef t, Checkpoint? source) =>
            t.Layout == "strided" && t.Quantizer == null && t.SubclassType == null && t.Storage?.InlineData == null
            && (t.IsChunked || (source != null && t.Storage != null && WeightSelection.NeedsOwnStorage(source, t)));

        /// <summary>
        /// torch 2.x's choice: dtypes with a legacy typed storage are rebuilt by _rebuild_tensor_v2 from it; the others
        /// (uint16/32/64, float8, complex32, bits …) by _rebuild_tensor_v3 from an untyped storage plus their dtype.
        /// </summary>
        private static string RebuildFunction(TensorRef t) => t.DType.StorageName != null ? "_rebuild_tensor_v2" : "_rebuild_tensor_v3";

        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, dtype (v3)][, metadata])
        private void SaveDenseArgs(TensorRef t, Checkpoint? source, bool requiresGrad, bool fresh)
        {
            Op(MARK);
            if (fresh)
            {
                SaveFreshPersistentId(t, source);
                SaveLong(0);
                SaveLongTuple(t.Shape);
                SaveLongTuple(OutTensor.ContiguousStride(t.Shape));
            }
            else
            {
                SavePersistentId(t.Storage!, t.DType, source);
                SaveLong(t.StorageOffset);
                SaveLongTuple(t.Shape);
                SaveLongTuple(t.Stride);
            }
            Save(requiresGrad);
            SaveEmptyOrderedDict();
            if (t.DType.StorageName == null) Save(t.DType);
            if (t.Metadata != null) Save(t.Metadata);
            Op(TUPLE);
        }

        private void SaveEmptyOrderedDict()
        {
            Global("collections", "OrderedDict");
            Op(EMPTY_TUPLE); Op(REDUCE);
        }

        /// <summary>A storage record of its own for <paramref name="t"/>'s elements in row-major order, read when the file is written.</summary>
        private void SaveFreshPersistentId(TensorRef t, Checkpoint? source)
        {
            var from = source ?? throw new GraphWriteException($"{t} is assembled from shards but belongs to no checkpoint given to the writer");
            var st = new ZipStorage
            {
                Key = _ordered.Count.ToString(CultureInfo.InvariantCulture),
                TypedAs = t.DType.StorageName != null ? t.DType : null,
                Bytes = t.NBytes,
                Source = from,
                Assembled = t,
            };
            _ordered.Add(st);
            SaveStorageId(st, "cpu");
        }

        /// <summary>('storage', torch.XStorage, key, location, numel): one record per source storage, shared by its views.</summary>
        private void SavePersistentId(StorageRef storage, DType dtype, Checkpoint? source)
        {
            if (!_storages.TryGetValue(storage, out var st))
            {
                var from = source ?? (_owners.TryGetValue(storage, out var owner) ? owner : null) ?? _sourceOf(storage)
                    ?? throw new GraphWriteException($"{storage} belongs to no checkpoint given to the writer");
                if (!storage.IsLocated) throw new GraphWriteException($"{storage} of '{from.FilePath}' has no bytes in the file");
                st = new ZipStorage
                {
                    Key = _ordered.Count.ToString(CultureInfo.InvariantCulture),
                    TypedAs = dtype.StorageName != null ? dtype : null,
                    Bytes = storage.DeclaredBytes,
                    Source = from,
                    SourceStorage = storage,
                    SwapWidth = dtype.Kind == DTypeKind.Complex ? dtype.ItemSize / 2 : dtype.ItemSize,
                };
                _storages.Add(storage, st);
                _ordered.Add(st);
            }
            SaveStorageId(st, storage.Location);
        }

        private void SaveStorageId(ZipStorage st, string location)
        {
            Op(MARK);
            SaveString("storage");
            if (st.TypedAs != null) Global("torch", st.TypedAs.StorageName!);
            else Global("torch.storage", "UntypedStorage"); // the only spelling torch 2.x's weights_only loader accepts
            SaveString(st.Key);
            SaveString(location);
            SaveLong(st.Numel);
            Op(TUPLE);
            Op(BINPERSID);
        }

        /// <summary>A file-bound tensor names its checkpoint: every storage of that file can be found from now on
        /// (special tensors rebuilt from their construction reach storages through their arguments).</summary>
        private void Learn(Checkpoint? c)
        {
            if (c == null || !_known.Add(c)) return;
            foreach (var s in c.Storages) _owners[s] = c;
        }

        private static string Short(object v) => PyRepr.Render(v, 80);
    }

    /// <summary>A graph value that cannot be written as a pickle (an unmappable .NET type, an impossible cycle …).</summary>
    public sealed class GraphWriteException : Exception
    {
        public GraphWriteException(string message, Exception? inner = null) : base(message, inner) { }
    }
}
