using System;
using System.Collections.Generic;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Lightning
{
    /// <summary>A tensor with its dotted path from the top object.</summary>
    public sealed class TensorEntry
    {
        public TensorEntry(string path, TensorRef tensor)
        {
            Path = path;
            Tensor = tensor;
        }

        /// <summary>e.g. state_dict.encoder.0.weight, optimizer_states.0.state.3.exp_avg.</summary>
        public string Path { get; }
        public TensorRef Tensor { get; }
        public override string ToString() => Path;
    }

    /// <summary>
    /// Walks an unpickled object graph in pickle order and finds every tensor with its dotted path: dict keys
    /// and list indices joined with '.', inert objects through their constructor arguments (__args__.i),
    /// fields, opaque state (__state__) and items. Cycles and excessive depth are cut, never followed.
    /// <para>A pickle can reach one container from many places (memo GET), so n lists can have 2^n paths. Each
    /// container is walked once for its own content and remembered with whether it held a tensor: a later path to a
    /// tensor-free container costs nothing, and a later path to one that holds tensors repeats its tensor paths (as
    /// torch and the fixture truth report them) only while the repeated work stays within
    /// <see cref="Limits.MaxRepeatedWalkSteps"/>. The walk is linear in the distinct objects plus that stated backstop.</para>
    /// </summary>
    public static class ObjectWalker
    {
        public static List<TensorEntry> FindTensors(object? root, string rootPath = "")
        {
            var found = new List<TensorEntry>();
            new Walker(found).Walk(root, rootPath, 0);
            return found;
        }

        /// <summary>
        /// Joins a parent path and a segment ("" + "a" = "a"). Paths are capped at <see cref="Limits.MaxPathLength"/>
        /// characters so hostile long keys nested deep cannot make path building quadratic.
        /// </summary>
        public static string Join(string parent, string segment)
        {
            if (parent.Length >= Limits.MaxPathLength) return parent;
            if (segment.Length > Limits.MaxPathLength / 4) segment = segment.Substring(0, Limits.MaxPathLength / 4) + "…";
            var joined = parent.Length == 0 ? segment : parent + "." + segment;
            return joined.Length > Limits.MaxPathLength ? joined.Substring(0, Limits.MaxPathLength) + "…" : joined;
        }

        private sealed class Walker
        {
            private readonly List<TensorEntry> _found;
            private readonly HashSet<object> _active = new HashSet<object>(ReferenceComparer.Instance);
            /// <summary>
            /// Containers walked once: the values their walk visited, or -1 when it found no tensor (and was not cut by a
            /// cycle or the depth limit), so a later path has nothing to repeat.
            /// </summary>
            private readonly Dictionary<object, long> _walked = new Dictionary<object, long>(ReferenceComparer.Instance);
            private int _cuts;
            private int _repeating;
            private long _steps;
            private long _repeatedSteps;

            public Walker(List<TensorEntry> found) => _found = found;

            public void Walk(object? v, string path, int depth)
            {
                _steps++;
                if (_repeating > 0) _repeatedSteps++;
                switch (v)
                {
                    case null: case string: case long: case double: case bool: case byte[]: case PyGlobal: case PyPath: return;
                    case TensorRef t:
                        _found.Add(new TensorEntry(path, t));
                        // a wrapper subclass (DTensor) has no bytes of its own: the tensors of its state (a DTensor's
                        // _local_tensor, the shard this rank saved) are the file's, listed below its path
                        if (t.Storage == null && t.Layout == "strided" && t.SubclassType != null && t.PythonState is PyDict state && depth < Limits.MaxWalkDepth && _active.Add(t))
                        {
                            try { foreach (var e in state) Walk(e.Value, Join(path, PyRepr.KeySegment(e.Key)), depth + 1); }
                            finally { _active.Remove(t); }
                        }
                        return;
                }
                if (depth >= Limits.MaxWalkDepth || _active.Contains(v!)) { _cuts++; return; }
                bool again = _walked.TryGetValue(v!, out var cost);
                // a later path repeats a container whole or not at all, so an alias is never listed half
                if (again && (cost < 0 || _repeatedSteps + cost > Limits.MaxRepeatedWalkSteps)) return;
                int foundBefore = _found.Count, cutsBefore = _cuts;
                long stepsBefore = _steps;
                _active.Add(v!);
                if (again) _repeating++;
                try { WalkContent(v!, path, depth); }
                finally
                {
                    if (again) _repeating--;
                    _active.Remove(v!);
                }
                if (!again) _walked[v!] = _found.Count > foundBefore || _cuts != cutsBefore ? _steps - stepsBefore : -1;
            }

            private void WalkContent(object v, string path, int depth)
            {
                switch (v)
                {
                    case PyDict d:
                        foreach (var e in d) Walk(e.Value, Join(path, PyRepr.KeySegment(e.Key)), depth + 1);
                        break;
                    case PyTuple t:
                        for (int i = 0; i < t.Count; i++) Walk(t[i], Join(path, i.ToString()), depth + 1);
                        break;
                    case PyList l:
                        for (int i = 0; i < l.Count; i++) Walk(l[i], Join(path, i.ToString()), depth + 1);
                        break;
                    case PySet s:
                        for (int i = 0; i < s.Count; i++) Walk(s[i], Join(path, i.ToString()), depth + 1);
                        break;
                    case PyObject o:
                        for (int i = 0; i < o.Args.Count; i++) Walk(o.Args[i], Join(path, "__args__." + i), depth + 1);
                        if (o.Kwargs != null)
                            foreach (var e in o.Kwargs) Walk(e.Value, Join(path, "__kwargs__." + PyRepr.KeySegment(e.Key)), depth + 1);
                        if (o.HasOpaqueState) Walk(o.State, Join(path, "__state__"), depth + 1);
                        else foreach (var f in o.Fields) Walk(f.Value, Join(path, PyRepr.KeySegment(f.Key)), depth + 1);
                        if (o.DictItems != null)
                            foreach (var e in o.DictItems) Walk(e.Value, Join(path, PyRepr.KeySegment(e.Key)), depth + 1);
                        if (o.ListItems != null)
                            for (int i = 0; i < o.ListItems.Count; i++) Walk(o.ListItems[i], Join(path, i.ToString()), depth + 1);
                        break;
                }
            }
        }
    }
}
