using System.Text.Json;
using Akka.EventDriven.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Akka.EventDriven.Http.Internal;

/// <summary>Reads and checks request bodies and ids before anything reaches the platform: size, depth, JSON shape,
/// field types, stable type names, no CLR type hints anywhere in a payload.</summary>
internal sealed class RequestReader(EventDrivenHttpOptions options, MessageTypeRegistry registry, long maxBodyBytes)
{
    private readonly Dictionary<string, MessageTypeName> _byName = BuildNames(registry);
    private readonly Dictionary<MessageTypeName, Type> _types = BuildTypes(registry);

    private static Dictionary<MessageTypeName, Type> BuildTypes(MessageTypeRegistry registry)
    {
        var types = new Dictionary<MessageTypeName, Type>();
        foreach (var (type, name) in registry.Registrations) types.TryAdd(name, type);
        return types;
    }

    // Input is held to a stricter standard than stored events: a missing non-nullable member, a missing constructor
    // parameter or an unknown member is an error (the client's typo), not a default value.
    private readonly JsonSerializerOptions _strict = new(registry.JsonOptions)
    {
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    private static Dictionary<string, MessageTypeName> BuildNames(MessageTypeRegistry registry)
    {
        var names = new Dictionary<string, MessageTypeName>(StringComparer.Ordinal);
        foreach (var name in registry.Registrations.Values)
        {
            names[name.Manifest] = name;
            if (!names.TryGetValue(name.Name, out var current) || current.Version < name.Version) names[name.Name] = name;
        }
        return names;
    }

    public MessageTypeRegistry Registry => registry;

    public async Task<JsonElement> ReadObjectAsync(HttpContext context)
    {
        if (!context.Request.HasJsonContentType())
            throw new BadRequestException(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                "Send the body as application/json.", "Content-Type");
        if (context.Request.ContentLength > maxBodyBytes) throw TooLarge();
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = maxBodyBytes;
        try
        {
            var document = await JsonDocument.ParseAsync(context.Request.Body,
                new JsonDocumentOptions { MaxDepth = options.MaxJsonDepth }, context.RequestAborted);
            context.Response.RegisterForDispose(document); // its pooled buffers go back when the request ends
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw BadRequestException.Field("$", "The body must be a JSON object.");
            return document.RootElement;
        }
        catch (JsonException e)
        {
            throw BadRequestException.Field("$", $"The body is not valid JSON (or nests deeper than {options.MaxJsonDepth}): {e.Message}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge();
        }
    }

    private BadRequestException TooLarge() => new(StatusCodes.Status413PayloadTooLarge, "Body too large",
        $"The body is larger than {maxBodyBytes} bytes (the bus's max-message-bytes plus the envelope).", "$");

    public static string? OptionalString(JsonElement body, string field, int maxLength = 1024)
    {
        if (!body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String) throw BadRequestException.Field(field, $"'{field}' must be a string.");
        var text = value.GetString()!;
        if (text.Length > maxLength) throw BadRequestException.Field(field, $"'{field}' must be at most {maxLength} characters.");
        if (text.Any(char.IsControl)) throw BadRequestException.Field(field, $"'{field}' must not contain control characters.");
        return text;
    }

    public static string RequiredString(JsonElement body, string field, int maxLength = 1024) =>
        OptionalString(body, field, maxLength) is { Length: > 0 } text
            ? text
            : throw BadRequestException.Field(field, $"'{field}' is required and must be a non-empty string.");

    public static bool OptionalBool(JsonElement body, string field) =>
        body.TryGetProperty(field, out var value) && value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False or JsonValueKind.Null => false,
            _ => throw BadRequestException.Field(field, $"'{field}' must be true or false."),
        };

    /// <summary>Largest accepted expected version (far above any real stream, far below where arithmetic overflows).</summary>
    public const long MaxVersion = 1_000_000_000_000L;

    public static long? OptionalVersion(JsonElement body, string field)
    {
        if (!body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var v))
            throw BadRequestException.Field(field, $"'{field}' must be a whole number.");
        if (v is < 0 or > MaxVersion) throw BadRequestException.Field(field, $"'{field}' must be between 0 and {MaxVersion}.");
        return v;
    }

    /// <summary>The registered name that <paramref name="field"/> holds (a stable name, <c>name</c> or
    /// <c>name.vN</c>), and the CLR type behind it.</summary>
    public (MessageTypeName Name, Type Type) TypeName(JsonElement body, string field = "type")
    {
        var text = RequiredString(body, field, MessageTypeRegistry.MaxNameLength + 8);
        if (!_byName.TryGetValue(text, out var name))
            throw BadRequestException.Field(field, $"'{text}' is not a registered type name (names are stable names such as 'investigation.start', never CLR type names).");
        return (name, _types[name]);
    }

    /// <summary>The payload as an instance of the type <paramref name="name"/>; a <c>$type</c>, <c>$id</c> or
    /// <c>$ref</c> property anywhere in it is refused (type hints are never honoured).</summary>
    public object Payload(JsonElement body, MessageTypeName name, Type type, string field = "payload")
    {
        if (!body.TryGetProperty(field, out var payload) || payload.ValueKind != JsonValueKind.Object)
            throw BadRequestException.Field(field, $"'{field}' is required and must be a JSON object.");
        if (FindTypeHint(payload, field) is { } path)
            throw BadRequestException.Field(path, "Type hints ($type, $id, $ref) are not accepted in payloads.");
        try
        {
            return payload.Deserialize(type, _strict)
                   ?? throw BadRequestException.Field(field, $"'{field}' does not describe a {name.Name}.");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw BadRequestException.Field(field, $"'{field}' does not fit '{name.Name}': {e.Message}");
        }
    }

    /// <summary>The JSON object in <paramref name="field"/> as an instance of <paramref name="type"/>, a type that need
    /// not be a registered message (a saga's data), read as strictly as a payload and refusing type hints the same way.</summary>
    public object Value(JsonElement body, string field, Type type, string what)
    {
        if (!body.TryGetProperty(field, out var value) || value.ValueKind != JsonValueKind.Object)
            throw BadRequestException.Field(field, $"'{field}' is required and must be a JSON object.");
        if (FindTypeHint(value, field) is { } path)
            throw BadRequestException.Field(path, "Type hints ($type, $id, $ref) are not accepted in payloads.");
        try
        {
            return value.Deserialize(type, _strict) ?? throw BadRequestException.Field(field, $"'{field}' does not describe {what}.");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw BadRequestException.Field(field, $"'{field}' does not fit {what}: {e.Message}");
        }
    }

    /// <summary>Where the first type hint in <paramref name="element"/> is, or null. The check itself allocates
    /// nothing (every command body passes through it); the path is built only for the error.</summary>
    private static string? FindTypeHint(JsonElement element, string path) => HasTypeHint(element) ? TypeHintPath(element, path) : null;

    private static bool HasTypeHint(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject())
                    if (p.NameEquals("$type") || p.NameEquals("$id") || p.NameEquals("$ref") || p.NameEquals("$values") || HasTypeHint(p.Value))
                        return true;
                return false;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                    if (HasTypeHint(item)) return true;
                return false;
            default:
                return false;
        }
    }

    private static string? TypeHintPath(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject())
                {
                    if (p.Name is "$type" or "$id" or "$ref" or "$values") return $"{path}.{p.Name}";
                    if (TypeHintPath(p.Value, $"{path}.{p.Name}") is { } found) return found;
                }
                return null;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                    if (TypeHintPath(item, $"{path}[{i++}]") is { } found) return found;
                return null;
            default:
                return null;
        }
    }

    /// <summary>Aggregate ids over HTTP: 1-255 of letters, digits and <c>- _ . : @</c>.</summary>
    public static string AggregateId(string? id, string field = "aggregateId") => Ids.Check(id, field, 255);

    public static int Limit(string? text, int fallback, int max, string field = "limit")
    {
        if (string.IsNullOrEmpty(text)) return fallback;
        if (!int.TryParse(text, out var v) || v < 1 || v > max)
            throw BadRequestException.Field(field, $"'{field}' must be a whole number from 1 to {max}.");
        return v;
    }

    public static long NonNegative(string? text, long fallback, string field)
    {
        if (string.IsNullOrEmpty(text)) return fallback;
        if (!long.TryParse(text, out var v) || v < 0 || v > MaxVersion)
            throw BadRequestException.Field(field, $"'{field}' must be a whole number from 0 to {MaxVersion}.");
        return v;
    }
}
