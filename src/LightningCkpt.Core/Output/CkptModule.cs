using System;
using System.Collections.Generic;

namespace LightningCkpt
{
    /// <summary>
    /// One module of a checkpoint's weights at a chosen depth (Get-CkptTensor -ByModule): the weights under one name
    /// prefix, with parameters and buffers counted apart as Lightning's ModelSummary counts them.
    /// </summary>
    public sealed class CkptModule
    {
        private CkptModule(string fullName, string name, int depth)
        {
            FullName = fullName;
            Name = name;
            Depth = depth;
        }

        /// <summary>The name prefix (model.encoder.layer.0 at depth 4); a tensor with fewer segments is its own row.</summary>
        public string Name { get; }

        /// <summary>Segments in <see cref="Name"/>.</summary>
        public int Depth { get; }

        /// <summary>Elements of the module's parameters (weights a module trains).</summary>
        public long Parameters { get; private set; }

        /// <summary>
        /// Elements of the module's buffers: BatchNorm's running_mean, running_var, num_batches_tracked, and any
        /// non-floating tensor (position ids, masks); a state_dict does not mark them, so they are told by name and dtype.
        /// </summary>
        public long Buffers { get; private set; }

        /// <summary>Bytes of all its tensors.</summary>
        public long Bytes { get; private set; }
        public int Tensors { get; private set; }

        /// <summary>The checkpoint file, as CkptInfo.FullName.</summary>
        public string FullName { get; }

        /// <summary>The provider-qualified <see cref="FullName"/>: piped on, it binds to -LiteralPath.</summary>
        public string PSPath => FileSystemPSPath.Of(FullName);

        private static readonly HashSet<string> BufferNames = new HashSet<string>(StringComparer.Ordinal)
        {
            "running_mean", "running_var", "num_batches_tracked", "inv_freq", "masked_bias",
        };

        /// <summary>Whether a state_dict entry is a buffer rather than a parameter: a known buffer name, or not a floating dtype.</summary>
        public static bool IsBuffer(string name, string dtype)
        {
            int dot = name.LastIndexOf('.');
            if (BufferNames.Contains(dot < 0 ? name : name.Substring(dot + 1))) return true;
            return !(dtype.StartsWith("float", StringComparison.Ordinal) || dtype.StartsWith("bfloat", StringComparison.Ordinal) || dtype.StartsWith("complex", StringComparison.Ordinal));
        }

        /// <summary>The modules of <paramref name="tensors"/> at <paramref name="depth"/> name segments, in first-seen order.</summary>
        public static List<CkptModule> Summarise(IEnumerable<CkptTensor> tensors, int depth)
        {
            if (depth < 1) throw new ArgumentException($"the depth is at least 1, not {depth}");
            var rows = new List<CkptModule>();
            var byKey = new Dictionary<(string, string), CkptModule>();
            foreach (var t in tensors)
            {
                var (prefix, segments) = Prefix(t.Name, depth);
                if (!byKey.TryGetValue((t.FullName, prefix), out var row))
                {
                    row = new CkptModule(t.FullName, prefix, segments);
                    byKey[(t.FullName, prefix)] = row;
                    rows.Add(row);
                }
                row.Tensors++;
                row.Bytes += t.Bytes;
                if (IsBuffer(t.Name, t.DType)) row.Buffers += t.Numel;
                else row.Parameters += t.Numel;
            }
            return rows;
        }

        private static (string, int) Prefix(string name, int depth)
        {
            int at = -1;
            for (int i = 0; i < depth; i++)
            {
                int next = name.IndexOf('.', at + 1);
                if (next < 0) return (name, i + 1);
                at = next;
            }
            return (name.Substring(0, at), depth);
        }

        public override string ToString() => Name;
    }
}
