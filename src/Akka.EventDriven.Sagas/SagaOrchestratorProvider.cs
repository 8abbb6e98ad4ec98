using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Sagas.Internal;

namespace Akka.EventDriven.Sagas;

/// <summary>Creates the <see cref="SagaOrchestrator"/> extension.</summary>
public sealed class SagaOrchestratorProvider : ExtensionIdProvider<SagaOrchestrator>
{
    /// <inheritdoc />
    public override SagaOrchestrator CreateExtension(ExtendedActorSystem system) => new(system);
}
