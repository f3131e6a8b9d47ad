/**
 * The PI Web API JSON shapes the agent reads (field names from the 2018 SP1 Swagger `definitions`,
 * behaviour from piwebapi-fidelity.md). Only what the agent uses; PI may send more.
 */

/** `{"WebException":{...}}`: a failure reported inside an otherwise successful body (fidelity §4). */
export interface PiWebException {
  Errors?: string[];
  StatusCode?: number;
}

/** A collection: `{"Items":[...],"Links":{...}}` (fidelity §1). */
export interface PiItems<T> {
  Items: T[];
  Links?: Record<string, string>;
  WebException?: PiWebException;
}

/** `GET /dataservers?path=\\NAME` (fidelity §2). */
export interface DataServer {
  WebId: string;
  Id: string;
  Name: string;
  /** `\\PIServers[NAME]` */
  Path: string;
  IsConnected?: boolean;
  ServerVersion?: string;
  ServerTime?: string;
  Links?: Record<string, string>;
}

/** A PI point (fidelity §2). `Id` is the int32 point id. */
export interface PiPoint {
  WebId: string;
  Id: number;
  Name: string;
  /** `\\SERVER\TAG` */
  Path: string;
  Descriptor?: string;
  PointClass?: string;
  /** Digital, Int16, Int32, Float16, Float32, Float64, String, Timestamp, Blob. */
  PointType?: string;
  DigitalSetName?: string;
  EngineeringUnits?: string;
  Span?: number;
  Zero?: number;
  Step?: boolean;
  Future?: boolean;
  DisplayDigits?: number;
  Links?: Record<string, string>;
}

/**
 * A digital state. `IsSystem: true` marks a system state (Shutdown 254, I/O Timeout 246...), which
 * can appear on a tag of any type and must never be coerced to a number (fidelity §4).
 */
export interface PiEnumValue {
  Name: string;
  Value: number;
  IsSystem: boolean;
}

/** A per-value handled error (fidelity §4). */
export interface PiPropertyError {
  FieldName?: string;
  Message?: string[];
}

/**
 * One recorded event exactly as PI sent it. `Timestamp` stays the raw string (up to 7 fractional
 * digits): parse it with `parsePiTimestamp` (time.ts).
 */
export interface PiTimedValue {
  Timestamp: string;
  Value: number | string | boolean | PiEnumValue | unknown[] | null;
  UnitsAbbreviation?: string;
  Good?: boolean;
  Questionable?: boolean;
  Substituted?: boolean;
  Annotated?: boolean;
  Errors?: PiPropertyError[];
}

/** One stream of a `/streamsets/...` response (Swagger `StreamValues`). */
export interface PiStreamValues {
  WebId?: string;
  Name?: string;
  Path?: string;
  Items?: PiTimedValue[];
  UnitsAbbreviation?: string;
  /** A failing stream carries its errors here without failing the call (fidelity §3). */
  Errors?: string[];
  WebException?: PiWebException;
  Links?: Record<string, string>;
}

/** One sub-request of `POST /batch` (fidelity §5, Swagger `Request`). */
export interface BatchRequest {
  Method: string;
  Resource?: string;
  /** A JSON string, not an object. */
  Content?: string;
  Headers?: Record<string, string>;
  Parameters?: string[];
  ParentIds?: string[];
  RequestTemplate?: { Resource: string };
}

/** One entry of the 207 response of `POST /batch` (Swagger `Response`). */
export interface BatchResponseEntry {
  Status: number;
  Headers?: Record<string, string>;
  Content?: unknown;
}
