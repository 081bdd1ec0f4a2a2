using System.Collections.Generic;
using System.Collections.ObjectModel;

namespace LightningCkpt
{
    /// <summary>
    /// A read-only list of strings that prints as "a, b, c": Export-Csv and string conversion stay readable,
    /// while the pipeline and ConvertTo-Json still see the items.
    /// </summary>
    public sealed class TextList : ReadOnlyCollection<string>
    {
        public static readonly TextList Empty = new TextList(new List<string>());

        public TextList(IList<string> items) : base(items) { }

        public override string ToString() => string.Join(", ", this);
    }
}
