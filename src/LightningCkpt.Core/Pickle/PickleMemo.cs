using System;
using System.Collections.Generic;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// The pickle memo. Picklers number memo entries 0, 1, 2 … so the entries live in small pages indexed by number
    /// (no hashing, and no single array big enough for the large-object heap: a Dictionary of a few thousand entries
    /// is one, and costs a full GC every few dozen opens). Numbers beyond <see cref="PagedLimit"/> — only hostile
    /// pickles use them — go to a dictionary, so a lone huge index cannot allocate a huge page table.
    /// </summary>
    internal sealed class PickleMemo
    {
        private const int PageShift = 10;
        private const int PageSize = 1 << PageShift; // 8 KB of references per page
        private static readonly object NoneValue = new object();
        private object?[]?[] _pages = new object?[]?[4];
        private Dictionary<long, object?>? _sparse;
        private readonly long _pagedLimit;

        /// <param name="pagedLimit">Indices below this are paged; at most the number of entries the pickle may hold.</param>
        public PickleMemo(long pagedLimit) => _pagedLimit = Math.Max(PageSize, pagedLimit);

        /// <summary>Distinct indices stored.</summary>
        public int Count { get; private set; }

        public long PagedLimit => _pagedLimit;

        public bool Contains(long index) => TryGet(index, out _);

        /// <summary>Stores <paramref name="value"/> at <paramref name="index"/>, replacing what was there.</summary>
        public void Put(long index, object? value)
        {
            object stored = value ?? NoneValue;
            if (index >= 0 && index < _pagedLimit)
            {
                int page = (int)(index >> PageShift);
                if (page >= _pages.Length) Array.Resize(ref _pages, Math.Max(page + 1, _pages.Length * 2));
                var slots = _pages[page] ??= new object?[PageSize];
                int slot = (int)(index & (PageSize - 1));
                if (slots[slot] == null) Count++;
                slots[slot] = stored;
                return;
            }
            _sparse ??= new Dictionary<long, object?>();
            if (!_sparse.ContainsKey(index)) Count++;
            _sparse[index] = stored;
        }

        public bool TryGet(long index, out object? value)
        {
            object? stored = null;
            if (index >= 0 && index < _pagedLimit)
            {
                int page = (int)(index >> PageShift);
                if (page < _pages.Length && _pages[page] is { } slots) stored = slots[(int)(index & (PageSize - 1))];
            }
            else if (_sparse != null) _sparse.TryGetValue(index, out stored);
            value = ReferenceEquals(stored, NoneValue) ? null : stored;
            return stored != null;
        }
    }
}
