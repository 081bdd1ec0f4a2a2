using System.Collections.Generic;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Lightning
{
    /// <summary>A model weight: its name inside the weights dict and its full path from the top object.</summary>
    public sealed class NamedTensor
    {
        public NamedTensor(string name, string path, TensorRef tensor)
        {
            Name = name;
            Path = path;
            Tensor = tensor;
        }

        public string Name { get; }
        public string Path { get; }
        public TensorRef Tensor { get; }
        public override string ToString() => Name;
    }

    /// <summary>
    /// Finds the model weights where a user would look for them: Lightning's state_dict, a {'model': …} or
    /// {'model_state_dict': …} entry, a plain state dict, a pickled nn.Module, a bare tensor, or any tensors in
    /// a list or tuple.
    /// </summary>
    public static class WeightsLocator
    {
        private static readonly string[] WeightKeys =
        {
            "state_dict", "model_state_dict", "model", "module", "state_dict_ema", "model_ema", "net", "network",
            "params", "weights", "generator", "ema",
        };

        /// <summary>The weights and the path of the object they were found in ("" for the top object).</summary>
        public static (List<NamedTensor> weights, string? rootPath) Locate(object? root)
        {
            if (root is TensorRef bare) return (new List<NamedTensor> { new NamedTensor("tensor", "", bare) }, "");
            if (root is PyDict dict)
            {
                foreach (var key in WeightKeys)
                {
                    if (dict.TryGetValue(key, out var v) && FromContainer(v, key) is { Count: > 0 } found) return (found, key);
                }
                if (FromDict(dict, "") is { Count: > 0 } direct && direct.Count * 2 >= CountNonNull(dict)) return (direct, "");
            }
            if (root is PyObject module && FromModule(module, "") is { Count: > 0 } m) return (m, "");
            var all = new List<NamedTensor>();
            foreach (var e in ObjectWalker.FindTensors(root)) all.Add(new NamedTensor(e.Path, e.Path, e.Tensor));
            return (all, all.Count > 0 ? "" : null);
        }

        private static int CountNonNull(PyDict d)
        {
            int n = 0;
            foreach (var e in d) if (e.Value != null) n++;
            return n;
        }

        private static List<NamedTensor>? FromContainer(object? v, string path) => v switch
        {
            PyDict d => FromDict(d, path),
            PyObject o => FromModule(o, path),
            _ => null,
        };

        /// <summary>The tensor-valued entries of a state dict (non-tensor entries such as _metadata are skipped).</summary>
        private static List<NamedTensor> FromDict(PyDict d, string path)
        {
            var list = new List<NamedTensor>();
            foreach (var e in d)
                if (e.Value is TensorRef t)
                {
                    var name = PyRepr.KeySegment(e.Key);
                    list.Add(new NamedTensor(name, ObjectWalker.Join(path, name), t));
                }
            return list;
        }

        /// <summary>Flattens a pickled nn.Module the way module.state_dict() names things.</summary>
        private static List<NamedTensor>? FromModule(PyObject module, string path)
        {
            if (!IsModule(module)) return null;
            var list = new List<NamedTensor>();
            AddModule(module, path, "", list, new HashSet<object>(ReferenceComparer.Instance), 0);
            return list;
        }

        private static bool IsModule(PyObject o)
        {
            foreach (var f in o.Fields) if (f.Key is "_parameters" or "_modules") return true;
            return false;
        }

        private static void AddModule(PyObject module, string path, string prefix, List<NamedTensor> list, HashSet<object> seen, int depth)
        {
            if (depth > Limits.MaxWalkDepth || !seen.Add(module)) return;
            PyDict? parameters = null, buffers = null, modules = null;
            foreach (var f in module.Fields)
            {
                switch (f.Key)
                {
                    case "_parameters": parameters = f.Value as PyDict; break;
                    case "_buffers": buffers = f.Value as PyDict; break;
                    case "_modules": modules = f.Value as PyDict; break;
                }
            }
            foreach (var (field, dict) in new[] { ("_parameters", parameters), ("_buffers", buffers) })
            {
                if (dict == null) continue;
                foreach (var e in dict)
                    if (e.Value is TensorRef t)
                    {
                        var key = PyRepr.KeySegment(e.Key);
                        list.Add(new NamedTensor(prefix + key, ObjectWalker.Join(ObjectWalker.Join(path, field), key), t));
                    }
            }
            if (modules == null) return;
            foreach (var e in modules)
                if (e.Value is PyObject child)
                {
                    var key = PyRepr.KeySegment(e.Key);
                    AddModule(child, ObjectWalker.Join(ObjectWalker.Join(path, "_modules"), key), prefix + key + ".", list, seen, depth + 1);
                }
        }
    }
}
