using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using LightningCkpt.Pickle;

namespace LightningCkpt.Torch
{
    /// <summary>A storage class named in a pickle (torch.FloatStorage, torch.UntypedStorage …).</summary>
    public sealed class TorchStorageType
    {
        public TorchStorageType(PyGlobal name, DType? dtype)
        {
            Global = name;
            DType = dtype;
        }

        public PyGlobal Global { get; }

        /// <summary>The element type, or null for UntypedStorage (whose numel counts bytes).</summary>
        public DType? DType { get; }

        public override string ToString() => Global.FullName;
    }

    /// <summary>What a storage persistent id loads to: the storage and the dtype it was typed with.</summary>
    public sealed class StorageValue
    {
        public StorageValue(StorageRef storage, DType dtype)
        {
            Storage = storage;
            DType = dtype;
        }

        public StorageRef Storage { get; }
        public DType DType { get; }
        public override string ToString() => Storage.ToString();
    }

    /// <summary>Attaches file locations to storages as the pickle names them.</summary>
    internal interface IStorageLocator
    {
        void Locate(StorageRef storage);

        /// <summary>Objects addressed by a bare string persistent id (the tar format); null when unknown.</summary>
        object? LoadByKey(string key);
    }

    /// <summary>
    /// Meaning for torch's globals: storages, dtypes, Size, every _rebuild_* function, Parameters and tensor
    /// subclasses. Tensors become <see cref="TensorRef"/>s validated against their storage.
    /// </summary>
    internal sealed class TorchHost : PythonHost
    {
        private readonly IStorageLocator _locator;
        private readonly Dictionary<string, StorageRef> _storages;
        private readonly List<StorageRef> _ordered;

        /// <param name="locator">Where the container keeps storage bytes.</param>
        /// <param name="expectedStorages">
        /// How many storages the container can hold (a zip's data entries), so the tables are sized once instead of
        /// growing through every power of two on each open; 0 when unknown.
        /// </param>
        public TorchHost(IStorageLocator locator, int expectedStorages = 0)
        {
            _locator = locator;
            int capacity = Math.Max(0, Math.Min(expectedStorages, 1 << 16)); // a hint, never a promise from the file
            _storages = new Dictionary<string, StorageRef>(capacity, StringComparer.Ordinal);
            _ordered = new List<StorageRef>(capacity);
        }

        public IReadOnlyList<StorageRef> Storages => _ordered;

        public override object? ResolveGlobal(string pickledModule, string name)
        {
            var module = NormalizeModule(pickledModule);
            if (module.StartsWith("torch", StringComparison.Ordinal) && name.EndsWith("Storage", StringComparison.Ordinal))
            {
                var dtype = name == "UntypedStorage" || name == "TypedStorage" ? null : DType.FromStorageName(name);
                return new TorchStorageType(new PyGlobal(module, name), dtype);
            }
            if (module == "torch" && DType.FromName(name) is { } dt) return dt;
            return Named(pickledModule, name);
        }

        public override object? PersistentLoad(object? pid)
        {
            if (pid is PyTuple t && t.Count >= 1 && t[0] is string tag)
            {
                if (tag == "storage") return LoadStorage(t);
                if (tag == "module" && t.Count >= 2) return t[1]; // legacy: a pickled nn.Module's class and source
            }
            // the tar format keys objects by number; torch looks them up with int(saved_id)
            if (pid is string key && _locator.LoadByKey(key.Trim()) is { } byKey) return byKey;
            if (pid is long number && _locator.LoadByKey(number.ToString(System.Globalization.CultureInfo.InvariantCulture)) is { } byNumber) return byNumber;
            throw new PickleDataException($"unsupported persistent id {PyRepr.Render(pid, 120)}");
        }

        private StorageValue LoadStorage(PyTuple t)
        {
            if (t.Count < 5) throw new PickleDataException($"storage persistent id has {t.Count} fields, expected 5 or 6");
            if (t[1] is not TorchStorageType type) throw new PickleDataException($"storage persistent id names {PyRepr.Render(t[1], 80)}, not a storage class");
            var key = t[2] switch { string s => s, long l => l.ToString(System.Globalization.CultureInfo.InvariantCulture), _ => throw new PickleDataException("storage key is not a string") };
            var location = t[3] as string ?? "cpu";
            var numel = AsLong(t[4], "storage numel");
            if (numel < 0) throw new PickleDataException($"storage '{key}' has negative size {numel}");
            var dtype = type.DType ?? DType.UInt8;
            long declared;
            try { declared = checked(numel * dtype.ItemSize); } // storages count whole bytes even for quint4x2
            catch (OverflowException) { throw new PickleDataException($"storage '{key}' size {numel} overflows"); }

            if (!_storages.TryGetValue(key, out var storage))
                storage = RegisterStorage(key, dtype, declared, location);
            else if (storage.DeclaredBytes != declared && type.DType != null && storage.DType.ItemSize == dtype.ItemSize)
            {
                throw new PickleDataException($"storage '{key}' is declared with {declared} bytes and with {storage.DeclaredBytes} bytes");
            }

            // legacy format: (view_key, offset, size) makes a storage that is a slice of the root
            if (t.Count >= 6 && t[5] is PyTuple view && view.Count == 3)
            {
                var viewKey = view[0] as string ?? throw new PickleDataException("storage view key is not a string");
                long offset = AsLong(view[1], "storage view offset"), size = AsLong(view[2], "storage view size");
                if (offset < 0 || size < 0 || offset > numel || size > numel - offset)
                    throw new PickleDataException($"storage view '{viewKey}' ({offset}+{size}) lies outside storage '{key}' of {numel} elements", CheckpointDefect.ViewOutOfBounds);
                if (!_storages.TryGetValue(viewKey, out var viewStorage))
                {
                    viewStorage = RegisterView(viewKey, storage, offset * dtype.ItemSize, size * dtype.ItemSize);
                }
                return new StorageValue(viewStorage, dtype);
            }
            return new StorageValue(storage, dtype);
        }

        /// <summary>Creates a storage the first time its key is seen and asks the container where its bytes are.</summary>
        internal StorageRef RegisterStorage(string key, DType dtype, long declaredBytes, string location)
        {
            var storage = new StorageRef(key, dtype, declaredBytes, location, _ordered.Count);
            _storages.Add(key, storage);
            _ordered.Add(storage);
            _locator.Locate(storage);
            return storage;
        }

        /// <summary>A legacy storage view: a named slice of another storage.</summary>
        internal StorageRef RegisterView(string key, StorageRef root, long byteOffset, long byteLength)
        {
            if (_storages.TryGetValue(key, out var existing)) return existing;
            var view = new StorageRef(key, root.DType, byteLength, root.Location, _ordered.Count) { ViewRoot = root, ViewByteOffset = byteOffset };
            _storages.Add(key, view);
            _ordered.Add(view);
            return view;
        }

        internal StorageRef? FindStorage(string key) => _storages.TryGetValue(key, out var s) ? s : null;

        public override object? Call(object? callable, PyTuple args)
        {
            if (callable is PyGlobal g)
            {
                if (g.Module == "torch._utils")
                {
                    switch (g.Name)
                    {
                        case "_rebuild_tensor": return RebuildDense(args, 4, null, false);
                        case "_rebuild_tensor_v2": return RebuildDense(args, 6, null, true);
                        case "_rebuild_tensor_v3": return RebuildDense(args, 7, args.Count > 6 ? DTypeArgument(args[6], "_rebuild_tensor_v3") : null, true);
                        case "_rebuild_parameter":
                        case "_rebuild_parameter_v2":
                            return RebuildParameter(args, args.Count >= 4 ? args[3] : null);
                        case "_rebuild_parameter_with_state": return RebuildParameter(args, args.Count >= 4 ? args[3] : null);
                        case "_rebuild_qtensor": return RebuildQuantized(args);
                        case "_rebuild_sparse_tensor":
                        case "_rebuild_sparse_csr_tensor": return RebuildSparse(args);
                        case "_rebuild_nested_tensor": return RebuildNested(args);
                        case "_rebuild_device_tensor_from_numpy":
                        case "_rebuild_xla_tensor": return RebuildFromNumpy(args);
                        case "_rebuild_device_tensor_from_cpu_tensor": return RebuildOnDevice(args);
                        case "_rebuild_meta_tensor_no_storage": return RebuildMeta(args);
                        case "_rebuild_wrapper_subclass": return RebuildWrapperSubclass(args);
                    }
                }
                else if (g.Module == "torch._tensor" && (g.Name == "_rebuild_from_type_v2" || g.Name == "_rebuild_from_type"))
                {
                    return RebuildFromType(args);
                }
                else if (g.Is("torch.nested._internal.nested_tensor", "_rebuild_njt") && RebuildJagged(args) is { } jagged)
                {
                    return jagged;
                }
                else if (g.Is("torch", "Size"))
                {
                    // a value of its own, never its argument: the argument is how it was built, and a writer re-emits that
                    return PyTuple.TorchSize(args.Count == 0 ? Array.Empty<object?>() : args[0] is PyTuple st ? st.ToArray() : args[0] is PyList sl ? sl.ToArray() : throw new PickleDataException("torch.Size of a non-sequence"));
                }
                else if (g.Is("torch.nn.parameter", "Parameter"))
                {
                    if (args.Count >= 1 && args[0] is TensorRef data) return data.AsParameter(args.Count < 2 || args[1] is not bool rg || rg);
                }
                else if (g.Is("torch.serialization", "_get_layout") && args.Count == 1 && args[0] is string layout)
                {
                    return new PyGlobal("torch", layout.StartsWith("torch.", StringComparison.Ordinal) ? layout.Substring(6) : layout);
                }
            }
            return base.Call(callable, args);
        }

        public override object? Build(object? target, object? state)
        {
            if (target is TensorRef tensor)
            {
                // torch restores Parameter/subclass attributes with BUILD; keep them as data.
                if (state != null) tensor.PythonState = state;
                return tensor;
            }
            return base.Build(target, state);
        }

        /// <summary>
        /// A dtype argument: a known torch dtype, or for another torch.&lt;name&gt; global (a newer torch's dtype) an
        /// unknown dtype whose tensor will be listed without data; anything else is malformed.
        /// </summary>
        private static DType DTypeArgument(object? arg, string function) => arg switch
        {
            DType d => d,
            PyGlobal g when g.Module == "torch" => DType.Unknown(g.Name),
            _ => throw new PickleDataException($"{function} dtype is {PyRepr.Render(arg, 60)}, not a torch dtype"),
        };

        private static TensorRef RebuildDense(PyTuple args, int minArgs, DType? explicitDType, bool hasGrad)
        {
            if (args.Count < minArgs) throw new PickleDataException($"tensor rebuild takes {minArgs} arguments, got {args.Count}");
            if (args[0] is not StorageValue sv) throw new PickleDataException($"tensor rebuild expects a storage, got {PickleMachine.TypeName(args[0])}");
            var dtype = explicitDType ?? sv.DType;
            // a dtype this version does not know costs this tensor only: its geometry without its bytes
            var unknown = dtype.IsUnknown;
            var t = new TensorRef(dtype, LongArray(args[2], "size"), LongArray(args[3], "stride"), AsLong(args[1], "storage offset"), unknown ? null : sv.Storage);
            if (unknown) t.UnsupportedReason = $"has dtype torch.{dtype.Name}, which this version of LightningCkpt does not know";
            if (hasGrad) t.RequiresGrad = args[4] is bool rg && rg;
            if (explicitDType == null && args.Count > 6) t.Metadata = args[6];
            else if (explicitDType != null && args.Count > 7) t.Metadata = args[7];
            if (t.Metadata is PyDict meta)
            {
                t.IsConj = meta.Get("conj") is true;
                t.IsNeg = meta.Get("neg") is true;
            }
            t.Device = sv.Storage.Location;
            t.Validate();
            return t;
        }

        private static TensorRef RebuildParameter(PyTuple args, object? state)
        {
            if (args.Count < 2 || args[0] is not TensorRef data) throw new PickleDataException("_rebuild_parameter expects a tensor");
            var p = data.AsParameter(args[1] is bool rg && rg);
            if (state != null) p.PythonState = state;
            return p;
        }

        private static TensorRef RebuildQuantized(PyTuple args)
        {
            if (args.Count < 5) throw new PickleDataException($"_rebuild_qtensor takes 7 arguments, got {args.Count}");
            if (args[0] is not StorageValue sv) throw new PickleDataException("_rebuild_qtensor expects a storage");
            var t = new TensorRef(sv.DType, LongArray(args[2], "size"), LongArray(args[3], "stride"), AsLong(args[1], "storage offset"), sv.Storage);
            if (args[4] is PyTuple q && q.Count >= 1)
            {
                var scheme = (q[0] as PyGlobal)?.Name ?? q[0]?.ToString() ?? "unknown";
                if (scheme.Contains("per_tensor"))
                    t.Quantizer = new QuantizerInfo(scheme, q.Count > 1 ? ToDouble(q[1]) : null, q.Count > 2 && q[2] is long zp ? zp : null, null, null, null);
                else
                    t.Quantizer = new QuantizerInfo(scheme, null, null, q.Count > 1 ? q[1] as TensorRef : null, q.Count > 2 ? q[2] as TensorRef : null, q.Count > 3 && q[3] is long ax ? ax : null);
            }
            if (args.Count > 5) t.RequiresGrad = args[5] is bool rg && rg;
            t.Device = sv.Storage.Location;
            t.Validate();
            return t;
        }

        private static TensorRef RebuildSparse(PyTuple args)
        {
            if (args.Count < 2 || args[1] is not PyTuple data) throw new PickleDataException("_rebuild_sparse_tensor expects (layout, data)");
            var layout = (args[0] as PyGlobal)?.Name ?? "sparse_coo";
            var parts = new List<TensorRef>();
            object? size = null;
            foreach (var d in data)
            {
                if (d is TensorRef tr) parts.Add(tr);
                else if (d is PyTuple sz && size == null) size = sz;
            }
            if (parts.Count == 0) throw new PickleDataException("sparse tensor without component tensors");
            var values = layout == "sparse_coo" ? parts[Math.Min(1, parts.Count - 1)] : parts[parts.Count - 1];
            var shape = size != null ? LongArray(size, "size") : Array.Empty<long>();
            var t = new TensorRef(values.DType, shape, new long[shape.Length], 0, null) { Layout = layout, Components = parts };
            return t;
        }

        private static TensorRef RebuildNested(PyTuple args)
        {
            if (args.Count < 1 || args[0] is not TensorRef buffer) throw new PickleDataException("_rebuild_nested_tensor expects a buffer tensor");
            var parts = new List<TensorRef> { buffer };
            for (int i = 1; i < args.Count; i++) if (args[i] is TensorRef tr) parts.Add(tr);
            // (buffer, sizes [n, dims], strides, offsets): n components of `dims` dimensions each, whose sizes are data
            long[] shape = args.Count > 1 && args[1] is TensorRef sizes && sizes.Shape.Length == 2
                ? Enumerable.Repeat(-1L, (int)Math.Min(sizes.Shape[1], Limits.MaxTensorDims) + 1).ToArray()
                : new[] { -1L };
            if (args.Count > 1 && args[1] is TensorRef sz && sz.Shape.Length == 2) shape[0] = sz.Shape[0];
            return TensorRef.Nested("nested", buffer.DType, shape, buffer.Numel, parts);
        }

        /// <summary>
        /// torch.nested._internal.nested_tensor._rebuild_njt({values, offsets, lengths, _ragged_idx, …}): a jagged
        /// NestedTensor of offsets.numel − 1 rows whose ragged dimension (torch's j1) is _ragged_idx.
        /// </summary>
        private static TensorRef? RebuildJagged(PyTuple args)
        {
            if (args.Count < 1 || args[0] is not PyDict kw || kw.Get("values") is not TensorRef values || kw.Get("offsets") is not TensorRef offsets
                || offsets.Shape.Length != 1 || values.Shape.Length < 1)
                return null;
            long ragged = kw.Get("_ragged_idx") is long r ? r : 1;
            if (ragged < 1 || ragged > values.Shape.Length) return null;
            // values folds the batch into the ragged dimension (its dimension ragged − 1 holds Σ lengths); the other
            // dimensions of values are the tensor's own, in order
            var shape = new long[values.Shape.Length + 1];
            shape[0] = Math.Max(0, offsets.Shape[0] - 1);
            shape[ragged] = -1;
            for (int i = 1, v = 0; i < shape.Length; i++)
            {
                if (i == ragged) continue;
                if (v == ragged - 1) v++;
                shape[i] = values.Shape[v++];
            }
            var parts = new List<TensorRef> { values, offsets };
            if (kw.Get("lengths") is TensorRef lengths) parts.Add(lengths);
            var t = TensorRef.Nested("jagged", values.DType, shape, values.Numel, parts);
            t.RequiresGrad = kw.Get("requires_grad") is true;
            return t;
        }

        private TensorRef RebuildFromNumpy(PyTuple args)
        {
            if (args.Count < 3 || args[0] is not NumpyArray arr || args[1] is not DType dtype)
                throw new PickleDataException("_rebuild_device_tensor_from_numpy expects (ndarray, dtype, device, requires_grad)");
            var shape = arr.Shape;
            long numel = TensorRef.ComputeNumel(shape);
            var data = arr.Data ?? Array.Empty<byte>();
            var storage = new StorageRef("numpy:" + _ordered.Count, dtype, data.Length, "cpu", _ordered.Count) { InlineData = data, AvailableBytes = data.Length, IsBigEndian = arr.DType?.IsBigEndian ?? false };
            _ordered.Add(storage);
            var t = new TensorRef(dtype, shape, ContiguousStride(shape), 0, storage) { Device = args[2]?.ToString() ?? "cpu" };
            if (args.Count > 3) t.RequiresGrad = args[3] is bool rg && rg;
            t.Validate();
            return t;
        }

        private static TensorRef RebuildOnDevice(PyTuple args)
        {
            if (args.Count < 1 || args[0] is not TensorRef cpu) throw new PickleDataException("_rebuild_device_tensor_from_cpu_tensor expects a tensor");
            var t = cpu.AsParameter(args.Count > 3 && args[3] is bool rg && rg);
            t.IsParameter = cpu.IsParameter;
            if (args.Count > 2) t.Device = PyRepr.Render(args[2], 64).Trim('\'');
            return t;
        }

        private static TensorRef RebuildMeta(PyTuple args)
        {
            if (args.Count < 3 || args[0] is not (DType or PyGlobal)) throw new PickleDataException("_rebuild_meta_tensor_no_storage expects (dtype, size, stride, requires_grad)");
            var dtype = DTypeArgument(args[0], "_rebuild_meta_tensor_no_storage");
            var t = new TensorRef(dtype, LongArray(args[1], "size"), LongArray(args[2], "stride"), 0, null) { Device = "meta" };
            if (args.Count > 3) t.RequiresGrad = args[3] is bool rg && rg;
            t.Validate();
            return t;
        }

        private static TensorRef RebuildWrapperSubclass(PyTuple args)
        {
            if (args.Count < 5 || args[1] is not DType dtype) throw new PickleDataException("_rebuild_wrapper_subclass expects (cls, dtype, size, stride, offset, layout, device, requires_grad)");
            var t = new TensorRef(dtype, LongArray(args[2], "size"), LongArray(args[3], "stride"), AsLong(args[4], "storage offset"), null)
            {
                SubclassType = args[0] as PyGlobal,
                // torch.device('cpu') as torch prints a tensor's device: cpu, cuda:0
                Device = args.Count > 6 ? args[6] is PyObject { Class: { Module: "torch", Name: "device" } } dev && dev.Args.Count >= 1 && dev.Args[0] is string name
                    ? (dev.Args.Count >= 2 && dev.Args[1] is long index ? name + ":" + index : name) : PyRepr.Render(args[6], 64) : "cpu",
            };
            if (args.Count > 7) t.RequiresGrad = args[7] is bool rg && rg;
            t.Validate();
            return t;
        }

        private object? RebuildFromType(PyTuple args)
        {
            if (args.Count < 3 || args[2] is not PyTuple inner) throw new PickleDataException("_rebuild_from_type_v2 expects (func, type, args, state)");
            var result = Call(args[0], inner);
            if (result is TensorRef t)
            {
                var type = args[1] as PyGlobal;
                if (type != null && type.Is("torch.nn.parameter", "Parameter")) t.IsParameter = true;
                else if (type != null && !type.Is("torch", "Tensor") && !type.Is("torch._tensor", "Tensor")) t.SubclassType = type;
                if (args.Count > 3 && args[3] is PyDict state && state.Count > 0) t.PythonState = state;
                // (dict | None, slots dict | None), as a DTensor pickles its _local_tensor and _spec: one dict of both
                else if (args.Count > 3 && args[3] is PyTuple parts && parts.Count == 2 && parts.All(p => p is null or PyDict) && parts.Any(p => p is PyDict { Count: > 0 }))
                {
                    var merged = new PyDict();
                    foreach (var part in parts.OfType<PyDict>()) foreach (var e in part) merged.Set(e.Key, e.Value);
                    t.PythonState = merged;
                }
            }
            return result;
        }

        internal static long[] ContiguousStride(long[] shape)
        {
            var s = new long[shape.Length];
            long acc = 1;
            for (int i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= Math.Max(1, shape[i]); }
            return s;
        }

        private static long AsLong(object? v, string what) => v switch
        {
            long l => l,
            bool b => b ? 1 : 0,
            BigInteger => throw new PickleDataException($"{what} does not fit in 64 bits"),
            _ => throw new PickleDataException($"{what} is {PickleMachine.TypeName(v)}, not an int"),
        };

        private static long[] LongArray(object? v, string what)
        {
            IReadOnlyList<object?> items = v switch
            {
                PyTuple t => t,
                PyList l => l,
                _ => throw new PickleDataException($"tensor {what} is {PickleMachine.TypeName(v)}, not a tuple"),
            };
            if (items.Count > Limits.MaxTensorDims) throw new PickleDataException($"tensor {what} has {items.Count} dimensions (limit {Limits.MaxTensorDims})", CheckpointErrorKind.LimitExceeded);
            var r = new long[items.Count];
            for (int i = 0; i < r.Length; i++) r[i] = AsLong(items[i], what);
            return r;
        }
    }
}
