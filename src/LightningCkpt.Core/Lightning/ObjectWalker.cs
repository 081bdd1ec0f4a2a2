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
    /// </summary>
    public static class ObjectWalker
    {
        public static List<TensorEntry> FindTensors(object? root, string rootPath = "")
        {
            var found = new List<TensorEntry>();
            var active = new HashSet<object>(ReferenceComparer.Instance);
            _state = new WalkState();
            try { Walk(root, rootPath, found, active, 0); }
            finally { _state = null; }
            return found;
        }

        [ThreadStatic] private static WalkState? _state;

        private sealed class WalkState
        {
            public long Steps;
            public readonly HashSet<object> Walked = new HashSet<object>(ReferenceComparer.Instance);
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

        private static void Walk(object? v, string path, List<TensorEntry> found, HashSet<object> active, int depth)
        {
            var state = _state!;
            state.Steps++;
            switch (v)
            {
                case null: case string: case long: case double: case bool: case byte[]: case PyGlobal: case PyPath: return;
                case TensorRef t: found.Add(new TensorEntry(path, t)); return;
            }
            if (depth >= Limits.MaxWalkDepth) return;
            // past the step budget, containers already walked once are not walked again (shared-graph blow-up)
            if (state.Steps > Limits.MaxWalkSteps && state.Walked.Contains(v!)) return;
            if (!active.Add(v!)) return;
            try
            {
                switch (v)
                {
                    case PyDict d:
                        foreach (var e in d) Walk(e.Value, Join(path, PyRepr.KeySegment(e.Key)), found, active, depth + 1);
                        break;
                    case PyTuple t:
                        for (int i = 0; i < t.Count; i++) Walk(t[i], Join(path, i.ToString()), found, active, depth + 1);
                        break;
                    case PyList l:
                        for (int i = 0; i < l.Count; i++) Walk(l[i], Join(path, i.ToString()), found, active, depth + 1);
                        break;
                    case PySet s:
                        for (int i = 0; i < s.Count; i++) Walk(s[i], Join(path, i.ToString()), found, active, depth + 1);
                        break;
                    case PyObject o:
                        for (int i = 0; i < o.Args.Count; i++) Walk(o.Args[i], Join(path, "__args__." + i), found, active, depth + 1);
                        if (o.Kwargs != null)
                            foreach (var e in o.Kwargs) Walk(e.Value, Join(path, "__kwargs__." + PyRepr.KeySegment(e.Key)), found, active, depth + 1);
                        if (o.HasOpaqueState) Walk(o.State, Join(path, "__state__"), found, active, depth + 1);
                        else foreach (var f in o.Fields) Walk(f.Value, Join(path, PyRepr.KeySegment(f.Key)), found, active, depth + 1);
                        if (o.DictItems != null)
                            foreach (var e in o.DictItems) Walk(e.Value, Join(path, PyRepr.KeySegment(e.Key)), found, active, depth + 1);
                        if (o.ListItems != null)
                            for (int i = 0; i < o.ListItems.Count; i++) Walk(o.ListItems[i], Join(path, i.ToString()), found, active, depth + 1);
                        break;
                }
            }
            finally
            {
                active.Remove(v!);
                state.Walked.Add(v!);
            }
        }
    }
}
