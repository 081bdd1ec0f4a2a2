using System.Collections.Generic;
using System.Collections.ObjectModel;

namespace LightningCkpt
{
    /// <summary>
    /// The sizes of a tensor's dimensions. Prints as "[16, 4]", so Export-Csv and string conversion stay readable
    /// (a long[] prints as System.Int64[]), while indexing, the pipeline and ConvertTo-Json still see the numbers.
    /// </summary>
    public sealed class TensorShape : ReadOnlyCollection<long>
    {
        public TensorShape(IList<long> sizes) : base(sizes is long[] a ? (long[])a.Clone() : new List<long>(sizes)) { }

        public override string ToString() => "[" + string.Join(", ", this) + "]";
    }
}
