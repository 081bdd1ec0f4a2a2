using System;
using System.Collections;
using System.Collections.Generic;

namespace LightningCkpt.Pickle
{
    /// <summary>An immutable Python tuple.</summary>
    public sealed class PyTuple : IReadOnlyList<object?>
    {
        public static readonly PyTuple Empty = new PyTuple(Array.Empty<object?>());
        private readonly object?[] _items;

        public PyTuple(object?[] items) => _items = items;

        /// <summary>A torch.Size: torch.Size(items). Writers spell it so, and it stays one through every conversion.</summary>
        internal static PyTuple TorchSize(object?[] items) => new PyTuple(items) { IsTorchSize = true };

        /// <summary>True for a torch.Size (a tuple subclass torch's weights_only loader accepts).</summary>
        public bool IsTorchSize { get; private set; }

        public object? this[int index] => _items[index];
        public int Count => _items.Length;

        /// <summary>Swaps one item for its stand-in (Import-Ckpt puts file-bound tensors in place of raw ones).</summary>
        internal void Replace(int index, object? value) => _items[index] = value;
        public IEnumerator<object?> GetEnumerator() => ((IEnumerable<object?>)_items).GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();
        public override string ToString() => PyRepr.Render(this);
    }
}
