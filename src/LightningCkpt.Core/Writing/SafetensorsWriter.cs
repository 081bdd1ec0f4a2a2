using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using LightningCkpt.Data;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// Writes the safetensors format: u64 little-endian header length N, N bytes of JSON (padded with spaces to a
    /// multiple of 8), then every tensor's row-major little-endian bytes back to back with no holes.
    /// Layout order follows the reference Rust writer (<c>prepare</c>): tensors sorted by dtype width descending (so
    /// every tensor starts aligned to its element size), then by name (ordinal); the header lists
    /// <c>__metadata__</c> first, then the tensors in that order. Shared tensors become separate copies.
    /// </summary>
    internal static class SafetensorsWriter
    {
        public static void Write(Stream output, IReadOnlyList<OutTensor> tensors, IReadOnlyList<KeyValuePair<string, string>> metadata, ReaderPool readers)
        {
            foreach (var t in tensors)
                if (t.DType.SafetensorsName == null)
                    throw new WeightsRequestException(WeightsRequestProblem.DTypeNotWritable, $"tensor '{t.Name}' is {t.DType.Name}, which safetensors cannot store; write a torch file (.pt/.ckpt) instead or cast it");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var t in tensors)
                if (!seen.Add(t.Name)) throw new InvalidOperationException($"duplicate tensor name '{t.Name}'");
            var ordered = tensors.OrderByDescending(t => t.DType.ItemSize).ThenBy(t => t.Name, StringComparer.Ordinal).ToList();

            var sb = new StringBuilder();
            sb.Append('{');
            bool first = true;
            if (metadata.Count > 0)
            {
                sb.Append("\"__metadata__\":{");
                for (int i = 0; i < metadata.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    Str(sb, metadata[i].Key); sb.Append(':'); Str(sb, metadata[i].Value);
                }
                sb.Append('}');
                first = false;
            }
            long offset = 0;
            foreach (var t in ordered)
            {
                if (!first) sb.Append(',');
                first = false;
                Str(sb, t.Name);
                sb.Append(":{\"dtype\":\"").Append(t.DType.SafetensorsName).Append("\",\"shape\":[");
                sb.Append(string.Join(",", t.Shape.Select(x => x.ToString(CultureInfo.InvariantCulture))));
                long end = offset + t.NBytes;
                sb.Append("],\"data_offsets\":[").Append(offset.ToString(CultureInfo.InvariantCulture)).Append(',').Append(end.ToString(CultureInfo.InvariantCulture)).Append("]}");
                offset = end;
            }
            sb.Append('}');
            var header = Encoding.UTF8.GetBytes(sb.ToString());
            int padded = (header.Length + 7) / 8 * 8;
            var head = new byte[8 + padded];
            for (int i = 0; i < 8; i++) head[i] = (byte)((ulong)padded >> (8 * i));
            Buffer.BlockCopy(header, 0, head, 8, header.Length);
            for (int i = 8 + header.Length; i < head.Length; i++) head[i] = (byte)' ';
            output.Write(head, 0, head.Length);

            {
                foreach (var t in ordered)
                {
                    long written = 0;
                    Action<byte[], int> sink = (b, n) => { output.Write(b, 0, n); written += n; };
                    if (t.Producer != null) t.Producer(sink);
                    else
                    {
                        readers.Get(t.Source!).ReadRowMajor(t.SourceTensor!, sink);
                    }
                    if (written != t.NBytes) throw new InvalidOperationException($"tensor '{t.Name}' produced {written} bytes instead of {t.NBytes}");
                }
            }
            output.Flush();
        }

        internal static void Str(StringBuilder sb, string s)
        {
            sb.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    default:
                        if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4"));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }
    }
}
