using System;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.Numerics;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Lightning
{
    /// <summary>
    /// Renders hyperparameters as plain .NET data for the shell: dicts become ordered dictionaries, lists and
    /// tuples arrays, inert objects their fields (omegaconf containers their content), and anything without
    /// fields a short text. Cycle-safe and depth-capped.
    /// </summary>
    public static class HyperParameterRenderer
    {
        private const int MaxDepth = 32;
        [ThreadStatic] private static long _steps;

        public static HyperParameterDictionary? Render(object? value)
        {
            if (value == null) return null;
            _steps = 0;
            var active = new GraphMemo<object?>();
            return Convert(value, active, 0) as HyperParameterDictionary ?? new HyperParameterDictionary { ["value"] = Convert(value, active, 0) };
        }

        private static object? Convert(object? v, GraphMemo<object?> active, int depth)
        {
            switch (v)
            {
                case null: return null;
                case string or long or double or bool: return v;
                case BigInteger b: return b.ToString();
                case Complex c: return PyRepr.Render(c);
                case byte[] bytes: return PyRepr.Render(bytes, 256);
                case PyGlobal g: return g.FullName;
                case PyPath p: return p.Path;
                case TensorRef t: return t.ToString();
                case NumpyArray a: return a.ToString();
                case NumpyDType dt: return dt.ToString();
            }
            // a shared container renders once and its rendering is reused, so shared sub-graphs stay linear; at most
            // MaxRenderNodes distinct containers are rendered
            if (active.TryGet(v!, out var rendered)) return rendered;
            if (depth >= MaxDepth || ++_steps > Limits.MaxRenderNodes || !active.Enter(v!)) return "...";
            object? r = v switch
            {
                PyDict d => ToDictionary(d, active, depth),
                PyList l => ToArray(l, active, depth),
                PyTuple t => ToArray(t, active, depth),
                PySet s => ToArray(s, active, depth),
                PyObject o => FromObject(o, active, depth),
                _ => v!.ToString(),
            };
            return active.Leave(v!, r);
        }

        private static HyperParameterDictionary ToDictionary(IEnumerable<KeyValuePair<object?, object?>> entries, GraphMemo<object?> active, int depth)
        {
            var r = new HyperParameterDictionary();
            foreach (var e in entries)
            {
                var key = PyRepr.KeySegment(e.Key);
                if (!r.Contains(key)) r.Add(key, Convert(e.Value, active, depth + 1));
            }
            return r;
        }

        private static object?[] ToArray(IEnumerable<object?> items, GraphMemo<object?> active, int depth)
        {
            var list = new List<object?>();
            foreach (var i in items) list.Add(Convert(i, active, depth + 1));
            return list.ToArray();
        }

        private static object? FromObject(PyObject o, GraphMemo<object?> active, int depth)
        {
            var cls = o.Class;
            if (cls != null && cls.Module.StartsWith("omegaconf", StringComparison.Ordinal) && o.State is PyDict st)
            {
                // DictConfig/ListConfig keep their data in _content; value nodes in _val
                if (st.TryGetValue("_content", out var content)) return content is string s && s.Length > 0 && cls.Name.Contains("Config") ? s : Convert(content, active, depth + 1);
                if (st.TryGetValue("_val", out var val)) return Convert(val, active, depth + 1);
            }
            if (o.DictItems != null && o.DictItems.Count > 0) return ToDictionary(o.DictItems, active, depth);
            var fields = new List<KeyValuePair<object?, object?>>(o.Fields);
            if (fields.Count > 0) return ToDictionary(fields, active, depth);
            if (o.ListItems != null) return ToArray(o.ListItems, active, depth);
            return PyRepr.Render(o, 512);
        }
    }

    /// <summary>
    /// An ordered dictionary that prints as "key=value; …", so Export-Csv and string conversion stay readable
    /// while $x.HyperParameters.lr and ConvertTo-Json work on the dictionary itself.
    /// </summary>
    [Serializable]
    public sealed class HyperParameterDictionary : OrderedDictionary
    {
        /// <summary>"k=v; …", capped (<see cref="RenderedValue.ParameterText"/>): shared sub-lists print once per path, within the cap.</summary>
        public override string ToString() => RenderedValue.ParameterText(this);
    }
}
