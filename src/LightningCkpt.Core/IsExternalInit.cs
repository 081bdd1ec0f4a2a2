// netstandard2.0 lacks this marker type; defining it lets the compiler accept init-only setters.
namespace System.Runtime.CompilerServices
{
    internal static class IsExternalInit { }
}
