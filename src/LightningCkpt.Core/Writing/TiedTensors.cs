using System.Collections.Generic;
using System.Globalization;
using System.Text;
using LightningCkpt.Torch;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// Finds names that are one tensor (tied weights): the same tensor object (DeepSpeed's shared_params, a pickle
    /// memo hit), the same view of the same storage, or chunk layouts made of the same boxes over the same bytes
    /// (DCP/HF keys pointing at one byte range). A torch file then writes that tensor once, as zero_to_fp32's
    /// torch.save does; safetensors cannot share and keeps a copy per name.
    /// </summary>
    internal sealed class TiedTensors
    {
        private readonly Dictionary<TensorRef, OutTensor> _byObject = new Dictionary<TensorRef, OutTensor>();
        private readonly Dictionary<string, OutTensor> _byView = new Dictionary<string, OutTensor>(System.StringComparer.Ordinal);
        private readonly Dictionary<StorageRef, int> _storageIds = new Dictionary<StorageRef, int>();

        /// <summary>The output already made for the tensor <paramref name="t"/> is, written as <paramref name="dtype"/>; null when new.</summary>
        public OutTensor? Find(TensorRef t, DType dtype)
        {
            if (_byObject.TryGetValue(t, out var o) && ReferenceEquals(o.DType, dtype)) return o;
            var key = ViewKey(t, dtype);
            return key != null && _byView.TryGetValue(key, out o) ? o : null;
        }

        public void Add(TensorRef t, OutTensor written)
        {
            if (!_byObject.ContainsKey(t)) _byObject[t] = written;
            var key = ViewKey(t, written.DType);
            if (key != null && !_byView.ContainsKey(key)) _byView[key] = written;
        }

        /// <summary>Output dtype, source dtype, shape and where every element comes from; null when not located.</summary>
        private string? ViewKey(TensorRef t, DType dtype)
        {
            var sb = new StringBuilder();
            sb.Append(dtype.Name).Append('|');
            return Append(sb, t) ? sb.ToString() : null;
        }

        private bool Append(StringBuilder sb, TensorRef t)
        {
            sb.Append(t.DType.Name).Append(Data.ViewBits.Tag(t)).Append('[').Append(string.Join(",", t.Shape)).Append(']');
            if (t.Chunks != null)
            {
                foreach (var c in t.Chunks.Chunks)
                {
                    sb.Append("{").Append(string.Join(",", c.Offsets)).Append('+').Append(string.Join(",", c.Sizes)).Append(':');
                    if (!Append(sb, c.Piece)) return false;
                    sb.Append('}');
                }
                return true;
            }
            var s = t.Storage;
            if (s == null) return false;
            var root = s.ViewRoot ?? s;
            long offset = s.ViewByteOffset + t.StorageOffset * t.DType.ItemSize;
            sb.Append('@').Append(string.Join(",", t.Stride)).Append('+').Append(offset.ToString(CultureInfo.InvariantCulture)).Append(" in ");
            // a storage in a file is its byte range there (DCP opens each blob apart: two keys can name one range)
            long at = root.InlineData == null && root.File != null ? root.FileOffset : -1;
            if (at >= 0) sb.Append(root.File!.Path).Append('@').Append(at.ToString(CultureInfo.InvariantCulture)).Append('#').Append(root.DeclaredBytes.ToString(CultureInfo.InvariantCulture));
            else
            {
                if (!_storageIds.TryGetValue(root, out int id)) _storageIds[root] = id = _storageIds.Count;
                sb.Append('#').Append(id.ToString(CultureInfo.InvariantCulture));
            }
            return true;
        }
    }
}
