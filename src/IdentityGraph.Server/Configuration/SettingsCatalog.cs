using System.Collections;
using System.Reflection;
using IdentityGraph.Kafka.Hosting;
using Microsoft.Extensions.Configuration;

namespace IdentityGraph.Server.Configuration;

/// <summary>One setting the program reads: its configuration key and its default.</summary>
/// <param name="Key">The key with <c>:</c> separators; <c>&lt;key&gt;</c> stands for any name, <c>&lt;n&gt;</c> for a list index.</param>
/// <param name="Default">The default as text; empty when there is none.</param>
public sealed record Setting(string Key, string Default)
{
    /// <summary>The environment variable that sets it (<c>__</c> for <c>:</c>).</summary>
    public string EnvironmentVariable => Key.Replace(":", "__", StringComparison.Ordinal);
}

/// <summary>
/// Every setting under <c>IdentityGraph:</c>, derived from the classes the configuration is bound to, so the list
/// cannot drift from what the program reads. A key that is not in it is a typo: start-up refuses it instead of
/// silently running on a default.
/// </summary>
public static class SettingsCatalog
{
    private const string AnyName = "<key>";
    private const string AnyIndex = "<n>";

    /// <summary>The bound sections: each class is bound at its section by <see cref="SettingsLoader"/> or a command.</summary>
    private static readonly (string Section, object Defaults)[] Sections =
    [
        (IdentitySettings.Section, new IdentitySettings()),
        (KafkaOptions.Section, new KafkaOptions()),
        (ServerSettings.Section, new ServerSettings()),
    ];

    public static IReadOnlyList<Setting> All { get; } = Build();

    /// <summary>
    /// The keys under <c>IdentityGraph:</c> in <paramref name="configuration"/> that are not settings, as problems
    /// (with the closest setting when one is near).
    /// </summary>
    public static IReadOnlyList<string> UnknownKeys(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        foreach (var pair in configuration.GetSection(ServerSettings.Section).AsEnumerable())
        {
            // Sections without a value of their own (IdentityGraph:Kafka) are only containers.
            if (pair.Value is null || IsKnown(pair.Key))
            {
                continue;
            }

            var nearest = Nearest(pair.Key);
            problems.Add(nearest is null
                ? $"{pair.Key} is not a setting (environment variable {pair.Key.Replace(":", "__", StringComparison.Ordinal)})."
                : $"{pair.Key} is not a setting; did you mean {nearest}?");
        }

        problems.Sort(StringComparer.Ordinal);
        return problems;
    }

    /// <summary>True when <paramref name="key"/> (<c>:</c>-separated, case-insensitive, as configuration is) is read.</summary>
    public static bool IsKnown(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var parts = key.Split(':');
        return All.Any(s => Matches(s.Key.Split(':'), parts));
    }

    private static bool Matches(string[] pattern, string[] parts)
    {
        if (pattern.Length != parts.Length)
        {
            return false;
        }

        for (var i = 0; i < parts.Length; i++)
        {
            var ok = pattern[i] switch
            {
                AnyName => parts[i].Length > 0,
                AnyIndex => int.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _),
                _ => string.Equals(pattern[i], parts[i], StringComparison.OrdinalIgnoreCase),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static string? Nearest(string key)
    {
        var best = All.Select(s => (s.Key, Distance: Levenshtein(s.Key.ToUpperInvariant(), key.ToUpperInvariant())))
            .OrderBy(c => c.Distance)
            .First();
        return best.Distance <= 3 ? best.Key : null;
    }

    private static int Levenshtein(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }

    private static List<Setting> Build()
    {
        var settings = new List<Setting>();
        foreach (var (section, defaults) in Sections)
        {
            Walk(section, defaults, settings);
        }

        return [.. settings.OrderBy(s => s.Key, StringComparer.Ordinal)];
    }

    // Public read-write properties are what the configuration binder sets: scalars are settings, dictionaries take any
    // name, lists take indexes, other classes are sub-sections.
    private static void Walk(string prefix, object instance, List<Setting> settings)
    {
        foreach (var property in instance.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanWrite || property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var key = prefix + ":" + property.Name;
            var type = property.PropertyType;
            var value = property.GetValue(instance);
            if (IsScalar(type))
            {
                settings.Add(new Setting(key, Format(value)));
            }
            else if (value is IDictionary)
            {
                settings.Add(new Setting(key + ":" + AnyName, ""));
            }
            else if (value is IList list)
            {
                settings.Add(new Setting(key + ":" + AnyIndex, list.Count == 0 ? "" : string.Join(",", list.Cast<object>())));
            }
            else if (value is not null)
            {
                Walk(key, value, settings);
            }
        }
    }

    private static bool IsScalar(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(TimeSpan) || t == typeof(decimal) || t == typeof(Uri);
    }

    private static string Format(object? value) => value switch
    {
        null => "",
        bool b => b ? "true" : "false",
        TimeSpan t => t.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
