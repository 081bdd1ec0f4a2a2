using System;
using System.Collections.Generic;
using System.Globalization;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt
{
    /// <summary>
    /// A checkpoint's whole object graph as editable values (what Import-Ckpt emits): <see cref="PyDict"/>,
    /// <see cref="PyList"/>, <see cref="PyTuple"/>, <see cref="PySet"/>, inert <see cref="PyObject"/>s, .NET scalars,
    /// byte[], null, and every tensor as a <see cref="CkptTensor"/> bound to its file. Constructions the hosts
    /// rebuilt are recorded, so <see cref="Writing.CheckpointExport"/> writes the graph back faithfully.
    /// </summary>
    public static class CkptGraph
    {
        /// <summary>Reads a checkpoint's graph; tensors become one <see cref="CkptTensor"/> each (shared ones stay one object).</summary>
        public static object? Load(string path) => Load(path, out _);

        public static object? Load(string path, out Checkpoint checkpoint) => Load(path, null, out checkpoint);

        /// <summary><see cref="Load(string)"/> of a file or of a URL read through <paramref name="remote"/>.</summary>
        public static object? Load(string path, Remote.RemoteSession? remote, out Checkpoint checkpoint)
        {
            using (Construction.Record()) checkpoint = Checkpoint.Open(path, remote);
            var bound = new Dictionary<object, CkptTensor>(ReferenceComparer.Instance);
            foreach (var t in CkptTensor.List(checkpoint, all: true))
                if (!bound.ContainsKey(t.Tensor)) bound.Add(t.Tensor, t);
            var c = checkpoint;
            object Bind(TensorRef t)
            {
                if (!bound.TryGetValue(t, out var ct))
                {
                    ct = CkptTensor.Create(c.FilePath, t.ToString(), "", t, shared: false);
                    ct.Source = c;
                    bound.Add(t, ct);
                }
                return ct;
            }
            var root = checkpoint.Root;
            if (root is TensorRef top) return Bind(top);
            ReplaceTensors(root, Bind);
            if (root != null && !(root is string)) { Origins.Remove(root); Origins.Add(root, checkpoint); }
            return root;
        }

        // the checkpoint a graph root was imported from, so a writer protects its files even when no tensor names them
        private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, Checkpoint> Origins = new System.Runtime.CompilerServices.ConditionalWeakTable<object, Checkpoint>();

        /// <summary>The checkpoint <paramref name="root"/> was loaded from by <see cref="Load(string, out Checkpoint)"/>, if it is such a root.</summary>
        public static Checkpoint? OriginOf(object? root) => root != null && Origins.TryGetValue(root, out var c) ? c : null;

        /// <summary>
        /// The value at a '/'-separated key path: dict keys by their text (ints and other keys by their Python
        /// spelling, e.g. 0 or ('a', 1)), list and tuple items by index, inert objects by field or item.
        /// </summary>
        public static object? Select(object? root, string keyPath)
        {
            var v = root;
            var walked = "";
            foreach (var segment in keyPath.Split(new[] { '/' }, StringSplitOptions.RemoveEmptyEntries))
            {
                if (!TryStep(v, segment, out var next))
                    throw new KeyNotFoundException(walked.Length == 0
                        ? $"the checkpoint has no key '{segment}'"
                        : $"'{walked}' has no key '{segment}' (it is a {PickleMachine.TypeName(v)})");
                v = next;
                walked = walked.Length == 0 ? segment : walked + "/" + segment;
            }
            return v;
        }

        private static bool TryStep(object? v, string segment, out object? next)
        {
            next = null;
            bool isIndex = long.TryParse(segment, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long index);
            switch (v)
            {
                case PyDict d: return TryKey(d, segment, isIndex, index, out next);
                case IReadOnlyList<object?> seq when isIndex: return TryIndex(seq, index, out next);
                case PyList list when isIndex: return TryIndex(list, index, out next);
                case PySet set when isIndex: return TryIndex(set, index, out next);
                case PyObject o:
                    foreach (var f in o.Fields)
                        if (f.Key is string s && s == segment) { next = f.Value; return true; }
                    if (o.DictItems != null && TryKey(o.DictItems, segment, isIndex, index, out next)) return true;
                    if (o.ListItems != null && isIndex) return TryIndex(o.ListItems, index, out next);
                    return false;
                default: return false;
            }
        }

        private static bool TryKey(PyDict d, string segment, bool isIndex, long index, out object? next)
        {
            if (d.TryGetValue(segment, out next)) return true;
            if (isIndex && d.TryGetValue(index, out next)) return true;
            foreach (var e in d)
                if (PyRepr.KeySegment(e.Key) == segment) { next = e.Value; return true; }
            return false;
        }

        private static bool TryIndex(IReadOnlyList<object?> seq, long index, out object? next)
        {
            if (index < 0) index += seq.Count;
            next = index >= 0 && index < seq.Count ? seq[(int)index] : null;
            return index >= 0 && index < seq.Count;
        }

        private static bool TryIndex(List<object?> seq, long index, out object? next) => TryIndex((IReadOnlyList<object?>)seq, index, out next);

        /// <summary>Puts <paramref name="bind"/>(t) in place of every TensorRef value, walking iteratively (graphs may be deep or cyclic).</summary>
        private static void ReplaceTensors(object? root, Func<TensorRef, object> bind)
        {
            var seen = new HashSet<object>(ReferenceComparer.Instance);
            var pending = new Stack<object>();
            void Visit(object? v) { if (v != null && !(v is string) && !(v is TensorRef) && seen.Add(v)) pending.Push(v); }
            object? Swap(object? v) => v is TensorRef t ? bind(t) : v;
            Visit(root);
            while (pending.Count > 0)
            {
                switch (pending.Pop())
                {
                    case PyDict d:
                        var entries = d.Entries;
                        for (int i = 0; i < entries.Count; i++)
                        {
                            var e = entries[i];
                            if (e.Value is TensorRef) d.Set(e.Key, Swap(e.Value));
                            Visit(e.Key);
                            Visit(e.Value);
                        }
                        Visit(d.Attributes);
                        Visit(d.DefaultFactory);
                        break;
                    case PyList list:
                        for (int i = 0; i < list.Count; i++) { list[i] = Swap(list[i]); Visit(list[i]); }
                        break;
                    case PySet set:
                        for (int i = 0; i < set.Count; i++) Visit(set[i]);
                        break;
                    case PyTuple t:
                        for (int i = 0; i < t.Count; i++) { if (t[i] is TensorRef) t.Replace(i, Swap(t[i])); Visit(t[i]); }
                        break;
                    case PyObject o:
                        Visit(o.Callable);
                        Visit(o.Args);
                        Visit(o.Kwargs);
                        o.State = Swap(o.State);
                        Visit(o.State);
                        Visit(o.ListItems);
                        Visit(o.DictItems);
                        break;
                }
            }
        }
    }
}
