using System.Collections.Generic;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// The pickle memo. Picklers number memo entries 0, 1, 2 … in order, so entries that arrive in order go to a
    /// plain array (8 bytes each); only out-of-order indices fall back to a dictionary (about 40 bytes each). A
    /// pickle of millions of small memoized lists cost 2.5 GB with a dictionary-only memo.
    /// </summary>
    internal sealed class PickleMemo
    {
        private readonly List<object?> _dense = new List<object?>();
        private readonly Dictionary<long, object?> _sparse = new Dictionary<long, object?>();

        public int Count => _dense.Count + _sparse.Count;

        /// <summary>Bytes the last <see cref="Put"/> added (0 when it replaced an entry).</summary>
        public int LastPutCost { get; private set; }

        public bool Contains(long index) =>
            index >= 0 && index < _dense.Count || _sparse.ContainsKey(index);

        public void Put(long index, object? value)
        {
            LastPutCost = 0;
            if (index >= 0 && index < _dense.Count) { _dense[(int)index] = value; return; }
            if (index == _dense.Count && index < int.MaxValue && !_sparse.ContainsKey(index))
            {
                _dense.Add(value);
                LastPutCost = 8;
                return;
            }
            if (!_sparse.ContainsKey(index)) LastPutCost = 40;
            _sparse[index] = value;
        }

        public bool TryGet(long index, out object? value)
        {
            if (index >= 0 && index < _dense.Count) { value = _dense[(int)index]; return true; }
            return _sparse.TryGetValue(index, out value);
        }

        public void Clear()
        {
            _dense.Clear();
            _sparse.Clear();
        }
    }
}
