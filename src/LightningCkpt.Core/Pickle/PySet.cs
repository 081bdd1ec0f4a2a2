using System.Collections.Generic;

namespace LightningCkpt.Pickle
{
    /// <summary>A Python set or frozenset. Items keep pickle order; duplicates by Python equality are dropped.</summary>
    public sealed class PySet : List<object?>
    {
        private readonly HashSet<object?> _seen = new HashSet<object?>(PyKeyComparer.Instance);

        public PySet(bool frozen) => IsFrozen = frozen;

        public bool IsFrozen { get; }

        public void AddItem(object? item)
        {
            if (_seen.Add(item)) Add(item);
        }

        public override string ToString() => PyRepr.Render(this);
    }
}
