/** AF objects as PI Web API returns them (the fields this agent reads), shared with the event frame source. */

export interface AfDatabaseJson {
  WebId: string;
  Id?: string;
  Name: string;
  Path: string;
}

export interface AfTemplateJson {
  WebId: string;
  Id?: string;
  Name: string;
  Description?: string;
  Path: string;
  BaseTemplate?: string;
  InstanceType?: string;
  CategoryNames?: string[];
}

export interface AfElementJson {
  WebId: string;
  Id?: string;
  Name: string;
  Description?: string;
  Path: string;
  TemplateName?: string;
  HasChildren?: boolean;
  CategoryNames?: string[];
  Links?: Record<string, string>;
}

export interface AfAttributeJson {
  WebId: string;
  Id?: string;
  Name: string;
  Description?: string;
  Path: string;
  Type?: string;
  DefaultUnitsName?: string;
  DefaultUnitsNameAbbreviation?: string;
  DataReferencePlugIn?: string;
  ConfigString?: string;
  IsConfigurationItem?: boolean;
  IsExcluded?: boolean;
  IsHidden?: boolean;
  CategoryNames?: string[];
  Links?: Record<string, string>;
}

/** A static attribute's value (`/streams/{webId}/value`). */
export interface AfValueJson {
  Timestamp?: string;
  Value?: unknown;
}
