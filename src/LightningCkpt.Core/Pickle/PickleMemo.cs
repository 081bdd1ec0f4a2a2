using System;
using System.Collections.Generic;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// The pickle memo. Picklers number memo entries 0, 1, 2 … so the entries live in small pages indexed by number
    /// (no hashing, and no single array big enough for the large-object heap: a Dictionary of a few thousand entries
    /// is one, and costs a full GC every few dozen opens). The first page grows by doubling so a small pickle's memo
    /// stays small. Numbers beyond <see cref="PagedLimit"/> — only hostile pickles use them — go to a dictionary, so a
    /// lone huge index cannot allocate a huge page table. <see cref="LastPutCost"/> reports the bytes each
    /// <see cref="Put"/> added to the memo's storage, so the pickle's memory budget sees a page the moment it exists.
    /// </summary>
    internal sealed class PickleMemo
    {
        private const int PageShift = 10;
        private const int PageSize = 1 << PageShift; // 8 KB of references per page
        private const int FirstPageStart = 1; // a one-entry memo costs one reference, as in a plain list
        private const int SparseEntryCost = 40; // dictionary entry plus bucket
        private static readonly object NoneValue = new object();
        private object?[]?[] _pages = new object?[]?[4];
        private Dictionary<long, object?>? _sparse;
        private readonly long _pagedLimit;

        /// <param name="pagedLimit">Indices below this are paged; at most the number of entries the pickle may hold.</param>
        public PickleMemo(long pagedLimit) => _pagedLimit = Math.Max(PageSize, pagedLimit);

        /// <summary>Distinct indices stored.</summary>
        public int Count { get; private set; }

        public long PagedLimit => _pagedLimit;

        /// <summary>Bytes the last <see cref="Put"/> added to the memo's storage (0 when it filled a slot of an existing page or replaced an entry).</summary>
        public int LastPutCost { get; private set; }

        public bool Contains(long index) => TryGet(index, out _);

        /// <summary>Stores <paramref name="value"/> at <paramref name="index"/>, replacing what was there.</summary>
        public void Put(long index, object? value)
        {
            LastPutCost = 0;
            object stored = value ?? NoneValue;
            if (index >= 0 && index < _pagedLimit)
            {
                int page = (int)(index >> PageShift);
                int slot = (int)(index & (PageSize - 1));
                if (page >= _pages.Length)
                {
                    int length = Math.Max(page + 1, _pages.Length * 2);
                    LastPutCost += 8 * (length - _pages.Length);
                    Array.Resize(ref _pages, length);
                }
                var slots = _pages[page];
                if (slots == null || slot >= slots.Length)
                {
                    // Page 0 doubles from one slot; every later page is allocated whole.
                    int length = page > 0 ? PageSize : Math.Max(slots?.Length ?? FirstPageStart, FirstPageStart);
                    while (length <= slot) length *= 2;
                    length = Math.Min(length, PageSize);
                    LastPutCost += 8 * (length - (slots?.Length ?? 0)); // what the memo holds from now on
                    if (slots == null) slots = new object?[length];
                    else Array.Resize(ref slots, length);
                    _pages[page] = slots;
                }
                if (slots[slot] == null) Count++;
                slots[slot] = stored;
                return;
            }
            _sparse ??= new Dictionary<long, object?>();
            if (!_sparse.ContainsKey(index))
            {
                Count++;
                LastPutCost = SparseEntryCost;
            }
            _sparse[index] = stored;
        }

        public bool TryGet(long index, out object? value)
        {
            object? stored = null;
            if (index >= 0 && index < _pagedLimit)
            {
                int page = (int)(index >> PageShift);
                int slot = (int)(index & (PageSize - 1));
                if (page < _pages.Length && _pages[page] is { } slots && slot < slots.Length) stored = slots[slot];
            }
            else if (_sparse != null) _sparse.TryGetValue(index, out stored);
            value = ReferenceEquals(stored, NoneValue) ? null : stored;
            return stored != null;
        }
    }
}
